# deploy/ctg-up.sh — `./ctg up` and `./ctg down`, sourced by ./ctg after `build`, so it uses
# ./ctg's helpers and variables: log, die, pg_start, pg_stop, pg_bin, as_owner, $ROOT, $BUILD,
# $STATE (= $ROOT/.ctg) and $SHARED.
#
#   ./ctg up [--no-wait]   start PostgreSQL (a private cluster in .ctg/pg, kept between runs, unless
#                          CTG_DATABASE_URL is set), every service binary that is built, load the
#                          Val de Garonne convention and action plan (idempotent), print endpoints
#                          and a dev token, then run until Ctrl-C / SIGTERM. --no-wait (or
#                          CTG_UP_DETACH=1) returns instead, leaving everything running for ./ctg down.
#   ./ctg down             stop what a detached `./ctg up` left running.
#
# Services, their ports and dependencies: deploy/services.json (the service manifest). Ports can
# be overridden with CTG_<SERVICE>_PORT and CTG_<SERVICE>_METRICS_PORT (e.g. CTG_ACTION_PLAN_PORT).

CTG_UP_RUN=""            # $STATE/run: pid, port and ownership files of the running stack
CTG_UP_PIDS=()           # pids of the services started by this `up`
CTG_UP_NAMES=()          # their names, index for index
CTG_UP_OWN_PG=0          # 1 when this `up` uses the private cluster of $STATE/pg
CTG_UP_STOPPED=0

# Prints the ./ctg up usage.
_ctg_up_usage() {
  sed -n '5,10p' "$ROOT/deploy/ctg-up.sh" | sed 's/^# \{0,1\}//'
}

# True when `pid` is alive.
_ctg_up_alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

# Sends SIGTERM to `pid` and waits up to `grace` seconds for it to end, then SIGKILL.
_ctg_up_terminate() {
  local pid="$1" name="$2" grace="${3:-30}" i
  _ctg_up_alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < grace * 10; i++)); do
    _ctg_up_alive "$pid" || { log "$name stopped"; return 0; }
    sleep 0.1
  done
  log "$name did not stop within ${grace}s; killing it"
  kill -KILL "$pid" 2>/dev/null || true
}

# Stops the services of this `up` (then the private PostgreSQL); safe to call twice.
_ctg_up_stop_all() {
  [ "$CTG_UP_STOPPED" -eq 1 ] && return 0
  CTG_UP_STOPPED=1
  local i
  for ((i = ${#CTG_UP_PIDS[@]} - 1; i >= 0; i--)); do
    _ctg_up_terminate "${CTG_UP_PIDS[$i]}" "${CTG_UP_NAMES[$i]}"
    wait "${CTG_UP_PIDS[$i]}" 2>/dev/null || true
    rm -f "$CTG_UP_RUN/${CTG_UP_NAMES[$i]}.pid" "$CTG_UP_RUN/${CTG_UP_NAMES[$i]}.ports"
  done
  if [ "$CTG_UP_OWN_PG" -eq 1 ]; then
    pg_stop "$STATE/pg"
    rm -f "$CTG_UP_RUN/pg.owned"
    log "PostgreSQL stopped (data kept in $STATE/pg)"
  fi
}

# The manifest's entries, one line each: "name binary port metrics_port backends" (backends a
# comma-separated list, "-" for none), in start order; then "gateway binary port metrics_port".
_ctg_up_manifest() {
  python3 - "$ROOT/deploy/services.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
for s in m["services"]:
    print(s["name"], s["binary"], s["port"], s["metricsPort"], ",".join(s.get("backends", [])) or "-")
g = m["gateway"]
print("gateway", g["binary"], g["port"], g["metricsPort"], "-")
PY
}

# Writes the manifest with the ports really used ($1: "name=port" words) to $2, for the gateway.
_ctg_up_effective_manifest() {
  python3 - "$ROOT/deploy/services.json" "$2" $1 <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
ports = dict(w.split("=") for w in sys.argv[3:])
for s in m["services"]:
    if s["name"] in ports:
        s["port"] = int(ports[s["name"]])
m["services"] = [s for s in m["services"] if s["name"] in ports]
json.dump(m, open(sys.argv[2], "w"), indent=2)
PY
}

# Polls the gRPC health of 127.0.0.1:`port` until SERVING; dies when `pid` ends or after 90 s.
_ctg_up_wait_serving() {
  local name="$1" port="$2" pid="$3" ctgctl="$BUILD/services/ctgctl/ctgctl" i out
  for ((i = 0; i < 450; i++)); do
    if ! _ctg_up_alive "$pid"; then
      tail -n 20 "$STATE/logs/$name.log" >&2 || true
      die "$name exited during start-up (log: $STATE/logs/$name.log)"
    fi
    out="$("$ctgctl" call --addr "127.0.0.1:$port" --timeout-seconds 2 \
      grpc.health.v1.Health/Check '{}' 2>/dev/null || true)"
    if printf '%s' "$out" | grep -q '"status": "SERVING"'; then return 0; fi
    sleep 0.2
  done
  tail -n 20 "$STATE/logs/$name.log" >&2 || true
  die "$name is not SERVING after 90 s (log: $STATE/logs/$name.log)"
}

# A development PKI under $STATE/tls, created once: a CA (ca.pem, which clients trust) and the
# gateway's certificate for localhost / 127.0.0.1 signed by it. EC P-256 keys, mode 0600.
_ctg_up_dev_tls() {
  local dir="$STATE/tls"
  [ -s "$dir/gateway.pem" ] && [ -s "$dir/gateway.key" ] && [ -s "$dir/ca.pem" ] && return 0
  mkdir -p "$dir"
  chmod 700 "$dir"
  (
    umask 077
    cd "$dir"
    openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
      -subj "/CN=CTG development CA" -keyout ca.key -out ca.pem 2>/dev/null
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -subj "/CN=localhost" -keyout gateway.key -out gateway.csr 2>/dev/null
    printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1" "basicConstraints=CA:FALSE" \
      "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" >gateway.ext
    openssl x509 -req -in gateway.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 825 \
      -extfile gateway.ext -out gateway.pem 2>/dev/null
    rm -f gateway.csr gateway.ext ca.srl
  ) || die "cannot create the development certificates in $dir"
  chmod 644 "$dir/ca.pem"
  log "generated a development CA and gateway certificate in $dir"
}

# Creates, on the private cluster, the two roles the services use and database `ctg` when they
# do not exist yet: `ctg_owner` owns the database and the services' schemas (migrations run as
# it), `ctg_service` is what every call runs as, holding only what the runtime grants it (no
# superuser: the database then holds it to its privileges, e.g. the append-only audit trail).
# Prints the owner's name: a database made before the roles existed keeps its owner.
_ctg_up_create_database() {
  local psql
  psql="$(pg_bin)/psql"
  local role
  for role in ctg_owner ctg_service; do
    if [ "$("$psql" -h "$PGHOST" -p "$PGPORT" -U ctg -d postgres -XtAc \
      "SELECT 1 FROM pg_roles WHERE rolname = '$role'")" != 1 ]; then
      "$psql" -h "$PGHOST" -p "$PGPORT" -U ctg -d postgres -Xqc \
        "CREATE ROLE $role LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE" >/dev/null
    fi
  done
  if [ "$("$psql" -h "$PGHOST" -p "$PGPORT" -U ctg -d postgres -XtAc \
    "SELECT 1 FROM pg_database WHERE datname = 'ctg'")" != 1 ]; then
    "$psql" -h "$PGHOST" -p "$PGPORT" -U ctg -d postgres -Xqc \
      'CREATE DATABASE ctg OWNER ctg_owner' >/dev/null
    log "database ctg created"
  else
    log "database ctg reused"
  fi
  "$psql" -h "$PGHOST" -p "$PGPORT" -U ctg -d postgres -XtAc \
    "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'ctg'"
}

# ./ctg up [--no-wait]
ctg_up() {
  local detach="${CTG_UP_DETACH:-0}" arg
  for arg in "$@"; do
    case "$arg" in
      --no-wait | --detach) detach=1 ;;
      -h | --help) _ctg_up_usage; return 0 ;;
      *) _ctg_up_usage >&2; die "unknown option '$arg' for up" ;;
    esac
  done
  local ctgctl="$BUILD/services/ctgctl/ctgctl"
  [ -x "$ctgctl" ] || die "ctgctl not built ($ctgctl)"
  command -v openssl >/dev/null || die "openssl not found (package openssl)"
  CTG_UP_RUN="$STATE/run"
  mkdir -p "$STATE/logs" "$CTG_UP_RUN"
  chmod 755 "$STATE"

  # A detached stack still running: one at a time.
  local f pid
  for f in "$CTG_UP_RUN"/*.pid; do
    [ -e "$f" ] || continue
    pid="$(cat "$f")"
    if _ctg_up_alive "$pid"; then
      die "$(basename "$f" .pid) is already running (pid $pid); stop it with ./ctg down"
    fi
    rm -f "$f"
  done

  # Whatever fails from here on stops what was started (in detached mode too).
  trap '_ctg_up_stop_all' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM

  # ---- database
  local db_url db_desc owner_url="" owner
  if [ -n "${CTG_DATABASE_URL:-}" ]; then
    db_url="$CTG_DATABASE_URL"
    owner_url="${CTG_OWNER_DATABASE_URL:-}"
    db_desc="CTG_DATABASE_URL (external)${owner_url:+, owner CTG_OWNER_DATABASE_URL}"
  else
    pg_start "$STATE/pg"
    CTG_UP_OWN_PG=1
    touch "$CTG_UP_RUN/pg.owned"
    owner="$(_ctg_up_create_database)"
    db_url="host=127.0.0.1 port=$PGPORT user=ctg_service dbname=ctg"
    owner_url="host=127.0.0.1 port=$PGPORT user=$owner dbname=ctg"
    db_desc="$db_url, owner $owner (private cluster, data in $STATE/pg)"
  fi

  # ---- dev signing key, generated once
  if [ ! -s "$STATE/jwt.key" ]; then
    (umask 077 && openssl rand -base64 48 | tr -d '\n' >"$STATE/jwt.key")
    log "generated a development JWT key in $STATE/jwt.key"
  fi
  chmod 600 "$STATE/jwt.key"

  # ---- the reporting service's outbox for the CDSF (read from the environment by ctg-reporting
  # only; the other services ignore it)
  mkdir -p "$STATE/outbox"
  export CTG_REPORT_OUTBOX_DIR="$STATE/outbox"

  # ---- services: those of deploy/services.json that are built, in its order; each is given
  # the addresses of the services it calls (--backends) and exports its own (CTG_<NAME>_ADDR).
  local name bin_name port mport backends upper port_var mport_var bin gw_line="" b
  local -a ports=() mports=()
  local -A address_of=()
  local manifest_ports=""
  while read -r name bin_name port mport backends; do
    if [ "$name" = gateway ]; then
      gw_line="$bin_name $port $mport"
      continue
    fi
    bin=""
    for b in "$BUILD"/services/*/"$bin_name" "$BUILD"/reporting/"$bin_name"; do
      if [ -x "$b" ]; then bin="$b"; break; fi
    done
    if [ -z "$bin" ] || [ ! -x "$bin" ]; then
      log "$name ($bin_name) is not built: not started"
      continue
    fi
    upper="$(printf '%s' "$name" | tr 'a-z-' 'A-Z_')"
    port_var="CTG_${upper}_PORT"
    mport_var="CTG_${upper}_METRICS_PORT"
    port="${!port_var:-$port}"
    mport="${!mport_var:-$mport}"
    if (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      die "port $port for $name is taken; set CTG_${upper}_PORT"
    fi
    if (echo >"/dev/tcp/127.0.0.1/$mport") 2>/dev/null; then
      die "port $mport for $name metrics is taken; set CTG_${upper}_METRICS_PORT"
    fi
    local backend_flag=""
    if [ "$backends" != - ]; then
      for b in ${backends//,/ }; do
        [ -n "${address_of[$b]:-}" ] || die "$name needs $b, which is not running"
        backend_flag="${backend_flag:+$backend_flag,}$b=${address_of[$b]}"
      done
    fi
    log "starting $name on 127.0.0.1:$port (log: $STATE/logs/$name.log)"
    rm -f "$CTG_UP_RUN/$name.ports"
    # Own session: a detached stack survives the terminal; Ctrl-C reaches it through our trap.
    setsid "$bin" --listen="127.0.0.1:$port" --metrics-listen="127.0.0.1:$mport" \
      --database-url="$db_url" ${owner_url:+--owner-database-url="$owner_url"} \
      --jwt-key-file="$STATE/jwt.key" \
      ${backend_flag:+--backends="$backend_flag"} \
      --port-file="$CTG_UP_RUN/$name.ports" </dev/null >>"$STATE/logs/$name.log" 2>&1 &
    pid=$!
    echo "$pid" >"$CTG_UP_RUN/$name.pid"
    CTG_UP_PIDS+=("$pid")
    CTG_UP_NAMES+=("$name")
    ports+=("$port")
    mports+=("$mport")
    address_of[$name]="127.0.0.1:$port"
    manifest_ports="$manifest_ports $name=$port"
    export "CTG_${upper}_ADDR=127.0.0.1:$port"
  done < <(_ctg_up_manifest)
  [ ${#CTG_UP_NAMES[@]} -gt 0 ] || die "no service of deploy/services.json is built under $BUILD/services"
  local i
  for ((i = 0; i < ${#CTG_UP_NAMES[@]}; i++)); do
    _ctg_up_wait_serving "${CTG_UP_NAMES[$i]}" "${ports[$i]}" "${CTG_UP_PIDS[$i]}"
    log "${CTG_UP_NAMES[$i]} is SERVING"
  done

  # ---- the Val de Garonne convention (the service finds an already imported one)
  local partners_addr="" document="$ROOT/deploy/seed/vga/convention.json"
  local communes="$SHARED/data/vga_communes.csv" service_token="" registry_token import_out
  local secretariat=""
  for ((i = 0; i < ${#CTG_UP_NAMES[@]}; i++)); do
    [ "${CTG_UP_NAMES[$i]}" = partners ] && partners_addr="127.0.0.1:${ports[$i]}"
  done
  if [ -z "$partners_addr" ]; then
    log "no partners service: convention not loaded"
  elif [ ! -f "$document" ] || [ ! -f "$communes" ]; then
    log "seed files missing ($document, $communes): convention not loaded"
  else
    # Organisations are reference data: the import runs as the registry's administrator.
    registry_token="$("$ctgctl" token --role registry_admin --sub ctg-up --ttl-hours 1 \
      --key-file "$STATE/jwt.key")"
    log "loading the Val de Garonne convention"
    import_out="$("$ctgctl" import-convention --addr "$partners_addr" --token "$registry_token" \
      --document "$document" --communes "$communes")" ||
      die "the convention import failed (log: $STATE/logs/partners.log)"
    printf '%s\n' "$import_out"
    # The CDSF the bilans go to (not a party: the recipient of their petite enfance parts).
    "$ctgctl" call --addr "$partners_addr" --token "$registry_token" \
      ctg.partners.v1.PartnerService/CreateOrganisation "@$ROOT/deploy/seed/vga/cdsf.json" \
      >/dev/null || die "creating the CDSF failed (log: $STATE/logs/partners.log)"
    # The plan is loaded by the COPIL secretariat (art. 8: the agglomeration), which also sets
    # the demonstration flag of the sample reports.
    secretariat="$(printf '%s\n' "$import_out" | sed -n 's/^  secrétariat : //p')"
    [ -n "$secretariat" ] || die "the import did not name the convention's secretariat"
    service_token="$("$ctgctl" token --role copil_secretariat --org "$secretariat" \
      --sub ctg-up --ttl-hours 1 --key-file "$STATE/jwt.key")"
    # ---- the VGA action plan (art. 6) with its demonstration reports, when the action plan
    # service runs; the loader creates only what is missing.
    local plan="$ROOT/deploy/seed/vga/action_plan.json" plan_running=0
    for ((i = 0; i < ${#CTG_UP_NAMES[@]}; i++)); do
      [ "${CTG_UP_NAMES[$i]}" = action-plan ] && plan_running=1
    done
    if [ "$plan_running" -eq 0 ]; then
      log "no action plan service: action plan not loaded"
    elif [ ! -f "$plan" ]; then
      log "seed file missing ($plan): action plan not loaded"
    else
      log "loading the Val de Garonne action plan"
      "$ctgctl" load-action-plan --addr "$CTG_ACTION_PLAN_ADDR" --partners-addr "$partners_addr" \
        --token "$service_token" --plan "$plan" ||
        die "the action plan load failed (log: $STATE/logs/action-plan.log)"
    fi
    # ---- demonstration exchange requests (art. 9) between the agglomeration and its Caf
    local consents_running=0
    for ((i = 0; i < ${#CTG_UP_NAMES[@]}; i++)); do
      [ "${CTG_UP_NAMES[$i]}" = consents ] && consents_running=1
    done
    if [ "$consents_running" -eq 1 ]; then
      log "loading demonstration exchange requests"
      "$ctgctl" load-consents --set demo --addr "$CTG_CONSENTS_ADDR" \
        --partners-addr "$partners_addr" --key-file "$STATE/jwt.key" ||
        die "the demonstration exchange requests failed (log: $STATE/logs/consents.log)"
    else
      log "no consents service: demonstration exchange requests not loaded"
    fi
    # ---- the starter indicator catalogue (art. 11) with demonstration values for the 43
    # communes, loaded by the convention's Caf (which records values for its territory).
    local catalogue="$ROOT/deploy/seed/vga/indicators.json" indicators_running=0 caf caf_token
    for ((i = 0; i < ${#CTG_UP_NAMES[@]}; i++)); do
      [ "${CTG_UP_NAMES[$i]}" = indicators ] && indicators_running=1
    done
    caf="$(printf '%s\n' "$import_out" | sed -n 's/^  caf : //p' | head -n 1)"
    if [ "$indicators_running" -eq 0 ]; then
      log "no indicators service: indicator catalogue not loaded"
    elif [ ! -f "$catalogue" ] || [ -z "$caf" ]; then
      log "seed file missing ($catalogue) or no Caf party: indicator catalogue not loaded"
    else
      caf_token="$("$ctgctl" token --role caf_agent --org "$caf" --sub ctg-up --ttl-hours 1 \
        --key-file "$STATE/jwt.key")"
      log "loading the indicator catalogue (demonstration values)"
      "$ctgctl" load-indicators --addr "$CTG_INDICATORS_ADDR" --partners-addr "$partners_addr" \
        --action-plan-addr "${CTG_ACTION_PLAN_ADDR:-127.0.0.1:50052}" --token "$caf_token" \
        --catalogue "$catalogue" ||
        die "the indicator catalogue load failed (log: $STATE/logs/indicators.log)"
    fi
  fi

  # ---- what is running, and how to use it
  # ---- the gateway, in front of every service: the single entry point for other systems. It
  # routes from the manifest, written with the ports the services really got. It serves TLS with
  # a development certificate; the services behind it listen in plaintext on loopback.
  local gw_bin gw_default_port gw_default_mport gateway_addr="" gport gmport ghport=""
  read -r gw_bin gw_default_port gw_default_mport <<<"$gw_line"
  gw_bin="$BUILD/services/gateway/$gw_bin"
  if [ -x "$gw_bin" ]; then
    _ctg_up_effective_manifest "$manifest_ports" "$CTG_UP_RUN/services.json"
    gport="${CTG_GATEWAY_PORT:-$gw_default_port}"
    gmport="${CTG_GATEWAY_METRICS_PORT:-$gw_default_mport}"
    # The browser listener (Connect protocol over HTTPS), same certificate, and the console.
    local console_flag=""
    [ -f "$BUILD/console/index.html" ] && console_flag="--console-dir=$BUILD/console"
    ghport="${CTG_GATEWAY_HTTP_PORT:-8443}"
    if (echo >"/dev/tcp/127.0.0.1/$ghport") 2>/dev/null; then
      die "port $ghport for the gateway's browser listener is taken; set CTG_GATEWAY_HTTP_PORT"
    fi
    if (echo >"/dev/tcp/127.0.0.1/$gport") 2>/dev/null; then
      die "port $gport for the gateway is taken; set CTG_GATEWAY_PORT"
    fi
    _ctg_up_dev_tls
    log "starting gateway on 127.0.0.1:$gport, TLS (log: $STATE/logs/gateway.log)"
    setsid "$gw_bin" --listen="127.0.0.1:$gport" --metrics-listen="127.0.0.1:$gmport" \
      --http-listen="127.0.0.1:$ghport" --dev-sign-in=true \
      ${console_flag:+"$console_flag"} \
      --tls-cert-file="$STATE/tls/gateway.pem" --tls-key-file="$STATE/tls/gateway.key" \
      --manifest-file="$CTG_UP_RUN/services.json" --jwt-key-file="$STATE/jwt.key" \
      </dev/null >>"$STATE/logs/gateway.log" 2>&1 &
    pid=$!
    echo "$pid" >"$CTG_UP_RUN/gateway.pid"
    CTG_UP_PIDS+=("$pid")
    CTG_UP_NAMES+=("gateway")
    ports+=("$gport")
    mports+=("$gmport")
    CTG_CA_FILE="$STATE/tls/ca.pem" _ctg_up_wait_serving gateway "$gport" "$pid"
    log "gateway is SERVING"
    gateway_addr="127.0.0.1:$gport"
    # For `./ctg bilan` and other commands run against this stack.
    echo "$gateway_addr" >"$CTG_UP_RUN/gateway.addr"
    echo "$secretariat" >"$CTG_UP_RUN/secretariat"
  fi

  local dev_token
  dev_token="$("$ctgctl" token --role copil_secretariat ${secretariat:+--org "$secretariat"} \
    --sub dev --ttl-hours 12 --key-file "$STATE/jwt.key")"
  local rel_ctgctl="${ctgctl#"$ROOT"/}"
  echo
  echo "CTG is up."
  for ((i = 0; i < ${#CTG_UP_NAMES[@]}; i++)); do
    printf '  %-10s gRPC 127.0.0.1:%s   metrics http://127.0.0.1:%s/metrics   log %s\n' \
      "${CTG_UP_NAMES[$i]}" "${ports[$i]}" "${mports[$i]}" "$STATE/logs/${CTG_UP_NAMES[$i]}.log"
  done
  echo "  database   $db_desc"
  echo
  echo "Development token (copil_secretariat of ${secretariat:-no organisation}, valid 12 h):"
  echo "  export CTG_ADDR=${gateway_addr:-${partners_addr:-127.0.0.1:${ports[0]}}}"
  echo "  export CTG_TOKEN=$dev_token"
  [ -n "$gateway_addr" ] && echo "  export CTG_CA_FILE=$STATE/tls/ca.pem   # the gateway speaks TLS"
  if [ -n "$gateway_addr" ]; then
    echo "Console (sign in with a development role): https://127.0.0.1:$ghport/"
    echo "HTTP clients (Connect protocol): https://127.0.0.1:$ghport/<service>/<method>"
    echo "  development sign-in (a 1-hour token for a role and organisation, in the answer's body):"
    echo "  curl --cacert $STATE/tls/ca.pem -H 'Content-Type: application/json' https://127.0.0.1:$ghport/dev/sign-in -d '{\"role\": \"copil_secretariat\", \"organisation\": \"${secretariat:-organisations/UUID}\"}'"
  fi
  echo "Examples:"
  echo "  $rel_ctgctl methods"
  echo "  $rel_ctgctl call ctg.partners.v1.PartnerService/ListConventions '{}'"
  echo "  $rel_ctgctl call ctg.partners.v1.PartnerService/ListOrganisations '{\"pageSize\": 50, \"kind\": \"COMMUNE\"}'"
  echo "  $rel_ctgctl token --role caf_agent --org organisations/UUID --key-file $STATE/jwt.key"
  echo "  curl -s http://127.0.0.1:${mports[0]}/metrics | grep grpc_server_handled_total"
  echo

  if [ "$detach" = 1 ]; then
    trap - EXIT INT TERM
    echo "Running in the background; stop with: ./ctg down"
    return 0
  fi
  echo "Press Ctrl-C to stop."
  trap '_ctg_up_stop_all; exit 0' INT TERM
  # Runs until a signal, or until a service ends on its own (then everything stops).
  while true; do
    wait -n "${CTG_UP_PIDS[@]}" 2>/dev/null || true
    for ((i = 0; i < ${#CTG_UP_PIDS[@]}; i++)); do
      if ! _ctg_up_alive "${CTG_UP_PIDS[$i]}"; then
        log "${CTG_UP_NAMES[$i]} ended unexpectedly (log: $STATE/logs/${CTG_UP_NAMES[$i]}.log)"
        _ctg_up_stop_all
        exit 1
      fi
    done
  done
}

# ./ctg down: stops the services a detached `./ctg up` left running, then its PostgreSQL.
# ./ctg bilan [intermediate | final | annual YEAR] [--new]: asks the running stack (./ctg up)
# for a report of the Val de Garonne convention as its COPIL secretariat, follows the job to its
# end and downloads its artefacts (each checked against its SHA-256) into .ctg/bilans/; prints
# where the PDF is. Asking again gives the same report (the job's key), so this is safe to
# repeat; --new asks for a new version (e.g. after the data changed).
ctg_bilan() {
  CTG_UP_RUN="$STATE/run"
  local kind="INTERMEDIATE_REVIEW" year="" force=false new=false args=() a
  for a in "$@"; do
    if [ "$a" = --new ]; then new=true; else args+=("$a"); fi
  done
  set -- "${args[@]+"${args[@]}"}"
  case "${1:-intermediate}" in
    intermediate) ;;
    final) kind="FINAL_REVIEW" force=true ;;
    annual) kind="ANNUAL_REVIEW" year="${2:-}"
      [[ "$year" =~ ^[0-9]{4}$ ]] || die "usage: ./ctg bilan annual YEAR" ;;
    *) die "usage: ./ctg bilan [intermediate | final | annual YEAR]" ;;
  esac
  local ctgctl="$BUILD/services/ctgctl/ctgctl"
  [ -x "$ctgctl" ] || die "ctgctl not built; run ./ctg build"
  [ -f "$CTG_UP_RUN/gateway.addr" ] && [ -f "$CTG_UP_RUN/gateway.pid" ] &&
    _ctg_up_alive "$(cat "$CTG_UP_RUN/gateway.pid")" ||
    die "the stack is not running: start it with ./ctg up (or ./ctg up --detach) first"
  local addr secretariat token conv job state report dir
  addr="$(cat "$CTG_UP_RUN/gateway.addr")"
  secretariat="$(cat "$CTG_UP_RUN/secretariat")"
  token="$("$ctgctl" token --role copil_secretariat ${secretariat:+--org "$secretariat"} \
    --sub ctg-bilan --ttl-hours 1 --key-file "$STATE/jwt.key")"
  local flags=(--addr "$addr" --token "$token" --ca-file "$STATE/tls/ca.pem")
  conv="$("$ctgctl" call "${flags[@]}" ctg.partners.v1.PartnerService/ListConventions '{}' |
    python3 -c 'import sys,json; c=json.load(sys.stdin).get("conventions",[]); print(c[0]["name"] if c else "")')"
  [ -n "$conv" ] || die "no convention is loaded"
  job="$("$ctgctl" call "${flags[@]}" ctg.reporting.v1.ReportingService/RequestReport \
    "{\"convention\": \"$conv\", \"kind\": \"$kind\"${year:+, \"year\": $year}, \"force\": $force, \"newVersion\": $new}" |
    python3 -c 'import sys,json; print(json.load(sys.stdin)["job"]["name"])')" ||
    die "the report was refused"
  log "asked for $kind of $conv: $job; following it"
  state="$("$ctgctl" call "${flags[@]}" --timeout-seconds 600 \
    ctg.reporting.v1.ReportingService/WatchReportJob "{\"name\": \"$job\"}" |
    python3 -c '
import sys, json
last = {}
for line in sys.stdin:
    last = json.loads(line)
    print("  %-9s %-8s %3s %%" % (last.get("state", ""), last.get("stage", ""), last.get("percent", 0)), file=sys.stderr)
print(last.get("state", "") + " " + last.get("report", "") + " " + last.get("lastError", "").replace(" ", "_"))')"
  read -r state report _ <<<"$state"
  [ "$state" = SUCCEEDED ] || die "the job ended $state: $(printf '%s' "$state")"
  dir="$STATE/bilans/${report#reports/}"
  mkdir -p "$dir"
  "$ctgctl" download-report "${flags[@]}" --report "$report" --out-dir "$dir" >/dev/null
  echo "Report $report ($kind), artefacts checked against their SHA-256:"
  ls -1 "$dir" | sed "s|^|  $dir/|"
  if [ -f "$dir/rapport.pdf" ]; then
    echo "PDF: $dir/rapport.pdf"
  else
    echo "This report was made before reports had a PDF; ask for a new version: ./ctg bilan --new"
  fi
}

ctg_down() {
  CTG_UP_RUN="$STATE/run"
  local f pid name found=0
  for f in "$CTG_UP_RUN"/*.pid; do
    [ -e "$f" ] || continue
    name="$(basename "$f" .pid)"
    pid="$(cat "$f")"
    if _ctg_up_alive "$pid"; then
      found=1
      _ctg_up_terminate "$pid" "$name"
    fi
    rm -f "$f" "$CTG_UP_RUN/$name.ports"
  done
  if [ -f "$CTG_UP_RUN/pg.owned" ]; then
    pg_stop "$STATE/pg"
    rm -f "$CTG_UP_RUN/pg.owned"
    found=1
    log "PostgreSQL stopped (data kept in $STATE/pg)"
  fi
  [ "$found" -eq 1 ] || log "nothing was running"
}
