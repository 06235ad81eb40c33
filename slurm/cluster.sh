#!/usr/bin/env bash
# A real single-node Slurm cluster on localhost, for tests and for trying the Slurm path on a laptop.
#
#   bash slurm/cluster.sh start    # install the Debian packages if missing, (re)start every daemon, wait for an idle node
#   bash slurm/cluster.sh status   # which daemons run (by PID file) + sinfo
#   bash slurm/cluster.sh stop     # stop every daemon by its PID (checked against /proc/PID/comm)
#
# Idempotent: `start` on a healthy cluster does nothing; on a half-started one it stops what runs and
# starts clean (Slurm state and accounting DB wiped). Needs root (apt-get, daemons). No systemd:
# the daemons are started by hand and stopped by PID. What was found to work and every pitfall met:
# slurm/NOTES.md. Exit codes: 0 ok, 3 packages cannot be installed (no apt / no mirror), 1 other failure.
set -euo pipefail

PACKAGES="munge slurmctld slurmd slurm-client slurmdbd mariadb-server"
CLUSTER=hybridbench
STATE=/var/lib/hybrid-bench-slurm          # our MariaDB datadir and run files
DB_PORT=3307                               # not 3306: never collide with a MariaDB the user runs
DB_SOCK=$STATE/mysqld.sock
DB_PID=$STATE/mysqld.pid
DB_PASS=hybridbench-local-only             # bound to 127.0.0.1 on a throw-away cluster
CONF=/etc/slurm
HOST=$(hostname -s)

log() { echo "[slurm/cluster.sh] $*" >&2; }

need_root() {
    if [ "$(id -u)" != 0 ]; then log "must run as root (apt-get, daemons)"; exit 1; fi
}

# ---- install -------------------------------------------------------------------------------
installed() {
    for b in /usr/sbin/munged /usr/sbin/slurmctld /usr/sbin/slurmd /usr/sbin/slurmdbd /usr/bin/sbatch /usr/sbin/mariadbd; do
        [ -x "$b" ] || return 1
    done
}

install_packages() {
    installed && return 0
    command -v apt-get >/dev/null || { log "apt-get not found: cannot install $PACKAGES"; exit 3; }
    log "installing $PACKAGES"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null 2>&1 || { log "apt-get update failed (no mirror reachable?)"; exit 3; }
    apt-get install -y -qq --no-install-recommends $PACKAGES >/dev/null 2>&1 \
        || { log "apt-get install $PACKAGES failed"; exit 3; }
    installed || { log "packages installed but binaries missing"; exit 3; }
}

# ---- processes by PID file -----------------------------------------------------------------
# alive PIDFILE COMM: the PID in PIDFILE runs and its /proc/PID/comm is COMM (not a zombie).
alive() {
    local pidfile=$1 comm=$2 pid
    [ -s "$pidfile" ] || return 1
    pid=$(tr -dc 0-9 < "$pidfile" 2>/dev/null) || return 1   # the daemon may remove it as we read
    [ -n "$pid" ] && [ -r "/proc/$pid/comm" ] || return 1
    [ "$(cat "/proc/$pid/comm")" = "$comm" ] || return 1
    ! grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null
}

stop_one() {
    local pidfile=$1 comm=$2 pid i
    if alive "$pidfile" "$comm"; then
        pid=$(tr -dc 0-9 < "$pidfile" 2>/dev/null) || { rm -f "$pidfile"; return 0; }
        kill -TERM "$pid" 2>/dev/null || true
        for i in $(seq 1 100); do   # a killed daemon lingers as a zombie for ~2 s here: read /proc/PID/status
            alive "$pidfile" "$comm" || break
            sleep 0.1
        done
        if alive "$pidfile" "$comm"; then kill -KILL "$pid" 2>/dev/null || true; sleep 0.5; fi
        log "stopped $comm (pid $pid)"
    fi
    rm -f "$pidfile"
}

wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
    local secs=$1 what=$2 i
    shift 2
    for i in $(seq 1 $((secs * 5))); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.2
    done
    log "timed out after ${secs}s waiting for $what"
    return 1
}

# ---- configuration --------------------------------------------------------------------------
write_configs() {
    mkdir -p "$CONF" /var/log/slurm /var/lib/slurm/slurmctld /var/lib/slurm/slurmd
    chown slurm:slurm /var/log/slurm /var/lib/slurm/slurmctld /var/lib/slurm/slurmd
    # The node line as slurmd sees this machine (a RealMemory larger than the machine drains the node).
    local node
    node=$(/usr/sbin/slurmd -C | head -n 1)
    cat > "$CONF/slurm.conf" <<EOF
# Written by hybrid-bench slurm/cluster.sh: a single-node cluster on localhost.
ClusterName=$CLUSTER
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=slurm
AuthType=auth/munge
AuthInfo=cred_expire=10
StateSaveLocation=/var/lib/slurm/slurmctld
SlurmdSpoolDir=/var/lib/slurm/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
EnforcePartLimits=ALL
ReturnToService=2
MpiDefault=none
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,sched_interval=2,bf_interval=2
KillWait=5
MinJobAge=300
MaxArraySize=10001
JobRequeue=1
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
JobAcctGatherType=jobacct_gather/none
$node NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
    cat > "$CONF/slurmdbd.conf" <<EOF
# Written by hybrid-bench slurm/cluster.sh
AuthType=auth/munge
DbdHost=localhost
DbdAddr=127.0.0.1
SlurmUser=slurm
PidFile=/run/slurmdbd.pid
LogFile=/var/log/slurm/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=slurm
StoragePass=$DB_PASS
StorageLoc=slurm_acct_db
EOF
    chown slurm:slurm "$CONF/slurmdbd.conf"
    chmod 0600 "$CONF/slurmdbd.conf"
}

# ---- daemons --------------------------------------------------------------------------------
start_mariadb() {
    rm -rf "$STATE/db"   # wipe the accounting DB: reruns on a reused machine start clean
    mkdir -p "$STATE/db"
    chown -R mysql:mysql "$STATE"
    mariadb-install-db --user=mysql --datadir="$STATE/db" --auth-root-authentication-method=socket \
        --skip-test-db >"$STATE/install-db.log" 2>&1 || { log "mariadb-install-db failed: $STATE/install-db.log"; return 1; }
    runuser -u mysql -- /usr/sbin/mariadbd --datadir="$STATE/db" --bind-address=127.0.0.1 --port=$DB_PORT \
        --socket="$DB_SOCK" --pid-file="$DB_PID" --log-error="$STATE/mariadb.err" --skip-log-bin \
        --innodb-buffer-pool-size=32M </dev/null >/dev/null 2>&1 &
    wait_for 60 "MariaDB" mariadb-admin --socket="$DB_SOCK" ping
    mariadb --socket="$DB_SOCK" -u root <<EOF
CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY '$DB_PASS';
CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY '$DB_PASS';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';
FLUSH PRIVILEGES;
EOF
}

start_munge() {
    mkdir -p /run/munge   # no systemd to create it
    chown munge:munge /run/munge
    chmod 0755 /run/munge
    [ -s /etc/munge/munge.key ] || { log "no /etc/munge/munge.key (package scripts create it)"; return 1; }
    runuser -u munge -- /usr/sbin/munged --pid-file=/run/munge/munged.pid   # as root it refuses the munge-owned key
    wait_for 10 "munged" bash -c 'munge -n | unmunge'
}

daemons_up() {
    alive /run/munge/munged.pid munged && alive "$DB_PID" mariadbd && alive /run/slurmdbd.pid slurmdbd \
        && alive /run/slurmctld.pid slurmctld && alive /run/slurmd.pid slurmd
}

node_idle() {
    sinfo -h -o %T 2>/dev/null | grep -Eq '^(idle|mixed|allocated)'
}

do_start() {
    need_root
    install_packages
    if daemons_up && node_idle; then
        log "already running: $(sinfo -h -o '%P %T %c cpus %m MB' | head -n 1)"
        return 0
    fi
    do_stop quiet
    rm -rf /var/lib/slurm/slurmctld/* /var/lib/slurm/slurmd/*   # stale job state of an earlier cluster
    mkdir -p "$STATE"
    write_configs
    start_munge
    start_mariadb
    /usr/sbin/slurmdbd
    wait_for 30 "slurmdbd" alive /run/slurmdbd.pid slurmdbd
    # submitit polls sacct: the cluster must be known to slurmdbd before slurmctld starts.
    wait_for 30 "slurmdbd to answer" sacctmgr -n show cluster
    sacctmgr -i add cluster "$CLUSTER" >/dev/null 2>&1 || true
    /usr/sbin/slurmctld
    wait_for 30 "slurmctld" scontrol ping
    /usr/sbin/slurmd
    if ! wait_for 60 "an idle node" node_idle; then
        sinfo -R >&2 || true
        scontrol update NodeName="$HOST" State=RESUME >/dev/null 2>&1 || true
        wait_for 20 "an idle node after RESUME" node_idle || { tail -n 20 /var/log/slurm/slurmd.log >&2; return 1; }
    fi
    wait_for 30 "accounting (sacct)" sacct -n -X
    log "up: $(sinfo -h -o '%P %T %c cpus %m MB' | head -n 1)"
}

do_stop() {
    need_root
    # End the cluster's jobs first: a job step's srun outlives slurmd/slurmctld otherwise.
    if alive /run/slurmctld.pid slurmctld; then
        local jobs
        jobs=$(squeue -h -o %A 2>/dev/null | sort -u | tr '\n' ' ')
        if [ -n "${jobs// /}" ]; then
            scancel --full $jobs >/dev/null 2>&1 || true
            wait_for 15 "jobs to end" bash -c '[ -z "$(squeue -h -o %A 2>/dev/null)" ]' || true
        fi
    fi
    stop_one /run/slurmd.pid slurmd
    stop_one /run/slurmctld.pid slurmctld
    stop_one /run/slurmdbd.pid slurmdbd
    stop_one "$DB_PID" mariadbd
    stop_one /run/munge/munged.pid munged
    [ "${1:-}" = quiet ] || log "stopped"
}

do_status() {
    local rc=0 d
    for d in "/run/munge/munged.pid munged" "$DB_PID mariadbd" "/run/slurmdbd.pid slurmdbd" \
             "/run/slurmctld.pid slurmctld" "/run/slurmd.pid slurmd"; do
        set -- $d
        if alive "$1" "$2"; then echo "$2: running (pid $(tr -dc 0-9 < "$1"))"; else echo "$2: stopped"; rc=1; fi
    done
    [ $rc = 0 ] && sinfo
    return $rc
}

case "${1:-}" in
    start) do_start ;;
    stop) do_stop ;;
    status) do_status ;;
    *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
