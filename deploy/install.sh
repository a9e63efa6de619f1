#!/usr/bin/env bash
# Installs the dune runtime on a host (or on the host mounted at --root) and registers it with
# containerd and docker. Records everything it does in a manifest so that --uninstall puts
# each file back byte for byte. Restarts a daemon only with --restart. See deploy/README.md.
set -euo pipefail

PROG=install.sh
BINARIES=(dune dune-init dune-run containerd-shim-dune-v2)
BEGIN_MARK='# >>> dune runtime (added by dune install.sh; --uninstall removes it) >>>'
END_MARK='# <<< dune runtime <<<'

usage() {
  cat <<'EOF'
Usage: install.sh [OPTIONS]
       install.sh --uninstall [--root DIR] [--restart]

Installs dune, dune-init, dune-run and containerd-shim-dune-v2 into PREFIX/bin, adds the
containerd runtimes `dune` (native shim, runtime_type io.containerd.dune.v2) and `dune-runc`
(runc shim with BinaryName PREFIX/bin/dune), and the docker runtime `dune` in daemon.json.
A second run changes nothing. Nothing is restarted unless --restart is given.

Options:
  --prefix DIR              install binaries into DIR/bin (default /usr/local)
  --root DIR                act on the host whose / is mounted at DIR (default /); every
                            other path is a path on that host
  --from DIR                take the binaries from DIR (default: bin/ beside this script,
                            else build/bin of the source tree)
  --containerd-config PATH  containerd config (default /etc/containerd/config.toml); by
                            default containerd is configured only if it is installed
  --docker-config PATH      docker daemon.json (default /etc/docker/daemon.json); by default
                            docker is configured only if it is installed
  --state-dir DIR           where the manifest and the backups live (default /var/lib/dune)
  --no-containerd           leave containerd's config alone
  --no-docker               leave docker's config alone
  --restart                 restart containerd / docker when their config changed
                            (systemctl; with --root, inside the host's PID 1 namespaces)
  --uninstall               revert exactly what earlier installs did (manifest
                            STATE-DIR/install.manifest; give the same --root and --state-dir)
  -h, --help                this text
EOF
}

say() { printf '%s: %s\n' "$PROG" "$*"; }
die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }

# ------------------------------------------------------------------ options
ROOT=/ PREFIX=/usr/local FROM='' RESTART=0 UNINSTALL=0 STATE=/var/lib/dune
CD_CONFIG='' DK_CONFIG='' CD_MODE=auto DK_MODE=auto
while (($#)); do
  case $1 in
    --prefix) PREFIX=${2:?--prefix needs a directory}; shift 2 ;;
    --root) ROOT=${2:?--root needs a directory}; shift 2 ;;
    --from) FROM=${2:?--from needs a directory}; shift 2 ;;
    --containerd-config) CD_CONFIG=${2:?--containerd-config needs a path}; CD_MODE=yes; shift 2 ;;
    --docker-config) DK_CONFIG=${2:?--docker-config needs a path}; DK_MODE=yes; shift 2 ;;
    --state-dir) STATE=${2:?--state-dir needs a directory}; shift 2 ;;
    --no-containerd) CD_MODE=no; shift ;;
    --no-docker) DK_MODE=no; shift ;;
    --restart) RESTART=1; shift ;;
    --uninstall) UNINSTALL=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
done
[[ $PREFIX == /* ]] || die "--prefix must be absolute: $PREFIX"
[[ -d $ROOT ]] || die "--root $ROOT is not a directory"
ROOT=$(cd "$ROOT" && pwd -P)
[[ $ROOT == / ]] && ROOT=''
CD_CONFIG=${CD_CONFIG:-/etc/containerd/config.toml}
DK_CONFIG=${DK_CONFIG:-/etc/docker/daemon.json}
[[ $CD_CONFIG == /* && $DK_CONFIG == /* && $STATE == /* ]] || die "config and state paths must be absolute (paths on the host)"
PREFIX=${PREFIX%/}
STATE=${STATE%/}
MANIFEST=$STATE/install.manifest
BACKUPS=$STATE/backup

# H PATH: where a host path is from here.
H() { printf '%s%s' "$ROOT" "$1"; }
sha() { sha256sum "$(H "$1")" | cut -d' ' -f1; }

# ------------------------------------------------------------------ manifest
# One record per line, tab-separated, host paths:
#   dir     PATH                      a directory this tool created (removed if empty)
#   bin     PATH SHA BACKUP|-         a binary it installed; BACKUP holds what was there before
#   created PATH SHA - SERVICE        a config file it created (SERVICE: containerd or docker)
#   edited  PATH SHA BACKUP SERVICE   a config file it edited; BACKUP is the original
declare -a M_KIND=() M_PATH=() M_SHA=() M_BACKUP=() M_SVC=()
CHANGED_SERVICES=()

manifest_load() {
  local kind path s b v
  [[ -f $(H "$MANIFEST") ]] || return 0
  while IFS=$'\t' read -r kind path s b v; do
    [[ -z $kind || $kind == \#* ]] && continue
    M_KIND+=("$kind") M_PATH+=("$path") M_SHA+=("${s:--}") M_BACKUP+=("${b:--}") M_SVC+=("${v:--}")
  done <"$(H "$MANIFEST")"
}

# manifest_find KIND PATH: prints the record's index.
manifest_find() {
  local i
  for i in "${!M_KIND[@]}"; do
    [[ ${M_KIND[i]} == "$1" && ${M_PATH[i]} == "$2" ]] && { echo "$i"; return 0; }
  done
  return 1
}

manifest_set() { # KIND PATH SHA BACKUP SERVICE
  local i
  if i=$(manifest_find "$1" "$2"); then
    M_SHA[i]=$3 M_BACKUP[i]=$4 M_SVC[i]=$5
  else
    M_KIND+=("$1") M_PATH+=("$2") M_SHA+=("$3") M_BACKUP+=("$4") M_SVC+=("$5")
  fi
  manifest_save
}

manifest_save() {
  local i tmp
  tmp=$(H "$MANIFEST").tmp
  {
    echo "# dune install manifest: what install.sh did on this host (install.sh --uninstall reverts it)"
    echo "# prefix $PREFIX"
    for i in "${!M_KIND[@]}"; do
      printf '%s\t%s\t%s\t%s\t%s\n' "${M_KIND[i]}" "${M_PATH[i]}" "${M_SHA[i]}" "${M_BACKUP[i]}" "${M_SVC[i]}"
    done
  } >"$tmp"
  mv -f "$tmp" "$(H "$MANIFEST")"
}

# mkdir_recorded DIR: creates DIR and its missing parents, recording each one created
# (parents first). The state directory is the first one made, so the manifest can be written.
mkdir_recorded() {
  local d=$1 missing=()
  while [[ $d != / && ! -d $(H "$d") ]]; do missing=("$d" "${missing[@]}"); d=$(dirname "$d"); done
  for d in "${missing[@]}"; do mkdir -m 0755 "$(H "$d")"; done
  for d in "${missing[@]}"; do manifest_set dir "$d" - - -; done
}

state_init() {
  [[ -d $(H "$BACKUPS") ]] && return 0
  mkdir_recorded "$BACKUPS"
  chmod 0700 "$(H "$BACKUPS")"
}

# backup_of PATH: a fresh backup file name for PATH (host path).
backup_of() {
  local name n=0
  name=$(printf '%s' "$1" | tr '/' '_')
  while [[ -e $(H "$BACKUPS/$name.$n") ]]; do n=$((n + 1)); done
  printf '%s' "$BACKUPS/$name.$n"
}

# write_file PATH CONTENT-FILE: replaces PATH atomically, keeping its mode and owner.
write_file() {
  local dst tmp
  dst=$(H "$1")
  tmp=$dst.dune-tmp.$$
  cp "$2" "$tmp"
  if [[ -e $dst ]]; then
    chmod --reference="$dst" "$tmp"
    chown --reference="$dst" "$tmp"
  else
    chmod 0644 "$tmp"
  fi
  mv -f "$tmp" "$dst"
}

# ------------------------------------------------------------------ detection
have_host_cmd() { # NAME: installed on the host (not necessarily on our PATH)
  local d
  for d in /usr/bin /usr/sbin /usr/local/bin /usr/local/sbin /bin /sbin; do
    [[ -x $(H "$d/$1") ]] && return 0
  done
  return 1
}

want_containerd() {
  case $CD_MODE in
    yes) return 0 ;; no) return 1 ;;
    *) have_host_cmd containerd || [[ -e $(H "$CD_CONFIG") ]] ;;
  esac
}

want_docker() {
  case $DK_MODE in
    yes) return 0 ;; no) return 1 ;;
    *) have_host_cmd dockerd || [[ -e $(H "$DK_CONFIG") ]] ;;
  esac
}

# ------------------------------------------------------------------ containerd
# The config's top-level `version` (before any table) read from stdin; empty if none.
containerd_version() {
  awk '
    /^[ \t]*\[/ { exit }
    /^[ \t]*version[ \t]*=/ { v = $0; sub(/^[^=]*=[ \t]*/, "", v); sub(/[ \t]*(#.*)?$/, "", v); print v; exit }'
}

# The CRI plugin's runtimes table for a config version.
runtimes_table() {
  case $1 in
    1) echo 'plugins.cri.containerd.runtimes' ;;
    2) echo 'plugins."io.containerd.grpc.v1.cri".containerd.runtimes' ;;
    3) echo 'plugins."io.containerd.cri.v1.runtime".containerd.runtimes' ;;
    *) return 1 ;;
  esac
}

containerd_block() { # VERSION WITH-VERSION-LINE(0|1) WITH-RUNC(0|1)
  local t
  t=$(runtimes_table "$1")
  echo "$BEGIN_MARK"
  # Only in a file that had no settings: containerd then merges these tables over its defaults.
  if [[ $2 == 1 ]]; then echo "version = $1"; fi
  if [[ $3 == 1 ]]; then
    # A runtimes table in the file replaces containerd's built-in one, which holds the default
    # runtime runc: without this entry the CRI plugin refuses to load.
    cat <<TOML
# containerd's default runtime, kept.
[$t.runc]
  runtime_type = "io.containerd.runc.v2"
TOML
  fi
  cat <<TOML
# Native shim (containerd-shim-dune-v2); Kubernetes RuntimeClass handler "dune".
[$t.dune]
  runtime_type = "io.containerd.dune.v2"
  runtime_path = "$PREFIX/bin/containerd-shim-dune-v2"
# containerd's runc shim driving dune as its OCI runtime.
[$t.dune-runc]
  runtime_type = "io.containerd.runc.v2"
  [$t.dune-runc.options]
    BinaryName = "$PREFIX/bin/dune"
TOML
  echo "$END_MARK"
}

# strip_block FILE: FILE without our marked block (stdout).
strip_block() {
  awk -v b="$BEGIN_MARK" -v e="$END_MARK" '$0 == b { skip = 1; next } $0 == e && skip { skip = 0; next } !skip' "$1"
}

has_block() { grep -qxF "$BEGIN_MARK" "$1"; }

# runtime_lines FILE REGEX: lines (outside our block) that define a runtime whose name matches.
runtime_lines() {
  strip_block "$1" | sed 's/#.*//' |
    grep -nE "runtimes\.(\"|')?($2)(\"|')?[[:space:]]*(\.|\]|=)" || true
}

# containerd_plan: sets CD_ACTION (none|create|edit) and CD_NEW (a temp file with the new
# content). Dies, before anything is changed, if the file already has foreign dune runtimes.
containerd_plan() {
  local f v foreign with_version=0 with_runc=0
  f=$(H "$CD_CONFIG")
  CD_NEW=$(mktemp)
  TMPFILES+=("$CD_NEW")
  if [[ ! -e $f ]]; then
    containerd_block 2 1 1 >"$CD_NEW"
    CD_ACTION=create
    return 0
  fi
  [[ -f $f ]] || die "$CD_CONFIG is not a regular file"
  # The version and the settings of the file as the user wrote it (our block left out).
  v=$(strip_block "$f" | containerd_version)
  if [[ -z $v ]]; then
    # containerd reads a file without `version` as version 1; an empty one adds nothing.
    if [[ -n $(strip_block "$f" | sed 's/#.*//' | tr -d '[:space:]') ]]; then v=1; else v=2 with_version=1; fi
  fi
  runtimes_table "$v" >/dev/null || die "$CD_CONFIG: unsupported config version '$v' (expected 1, 2 or 3); nothing was changed"
  foreign=$(runtime_lines "$f" 'dune|dune-runc')
  if [[ -n $foreign ]]; then
    die "$CD_CONFIG already defines a runtime named dune or dune-runc that this installer did not add; nothing was changed. Remove it, or configure by hand. Lines:
$foreign"
  fi
  if [[ -z $(runtime_lines "$f" runc) ]]; then with_runc=1; fi
  if has_block "$f"; then
    # Ours: replace the block in place (the same bytes when nothing changed).
    awk -v b="$BEGIN_MARK" -v e="$END_MARK" -v blk="$(containerd_block "$v" "$with_version" "$with_runc")" '
      $0 == b { print blk; skip = 1; next } $0 == e && skip { skip = 0; next } !skip' "$f" >"$CD_NEW"
  else
    cat "$f" >"$CD_NEW"
    # A file without a final newline gets one before the block.
    if [[ -s $f && -n $(tail -c1 "$f") ]]; then echo >>"$CD_NEW"; fi
    containerd_block "$v" "$with_version" "$with_runc" >>"$CD_NEW"
  fi
  if cmp -s "$f" "$CD_NEW"; then CD_ACTION=none; else CD_ACTION=edit; fi
}

# Checks that the new config parses when a TOML parser is at hand.
toml_check() {
  command -v python3 >/dev/null || return 0
  python3 -c 'import tomllib' 2>/dev/null || return 0
  python3 -c 'import sys, tomllib; tomllib.load(open(sys.argv[1], "rb"))' "$1" 2>&1 ||
    die "the edited $CD_CONFIG would not parse as TOML; nothing was changed"
}

# ------------------------------------------------------------------ docker
docker_plan() {
  local f cur want
  command -v jq >/dev/null || die "jq is required to edit $DK_CONFIG (or pass --no-docker)"
  f=$(H "$DK_CONFIG")
  DK_NEW=$(mktemp)
  TMPFILES+=("$DK_NEW")
  want=$(jq -cn --arg p "$PREFIX/bin/dune" '{path: $p}')
  if [[ ! -e $f ]]; then
    jq -n --argjson r "$want" '{runtimes: {dune: $r}}' >"$DK_NEW"
    DK_ACTION=create
    return 0
  fi
  [[ -f $f ]] || die "$DK_CONFIG is not a regular file"
  local input
  if [[ -z $(tr -d '[:space:]' <"$f") ]]; then input='{}'; else input=$(cat "$f"); fi
  jq -e 'type == "object"' <<<"$input" >/dev/null 2>&1 || die "$DK_CONFIG is not a JSON object; nothing was changed"
  cur=$(jq -c '.runtimes.dune // empty' <<<"$input")
  if [[ -n $cur && $cur != "$want" ]]; then
    # A dune runtime we recorded (an earlier install with another prefix) may be replaced.
    if ! manifest_find created "$DK_CONFIG" >/dev/null && ! manifest_find edited "$DK_CONFIG" >/dev/null; then
      die "$DK_CONFIG already has a different runtime named dune ($cur); nothing was changed"
    fi
  fi
  if [[ $cur == "$want" ]]; then
    DK_ACTION=none
    return 0
  fi
  jq --argjson r "$want" '.runtimes.dune = $r' <<<"$input" >"$DK_NEW"
  DK_ACTION=edit
}

# ------------------------------------------------------------------ config apply / revert
# apply_config SERVICE PATH ACTION NEWFILE
apply_config() {
  local svc=$1 path=$2 action=$3 new=$4 b i
  case $action in
    none) say "$path: already configured" ;;
    create)
      mkdir_recorded "$(dirname "$path")"
      write_file "$path" "$new"
      manifest_set created "$path" "$(sha "$path")" - "$svc"
      CHANGED_SERVICES+=("$svc")
      say "$path: created with the dune runtime"
      ;;
    edit)
      if manifest_find created "$path" >/dev/null; then
        write_file "$path" "$new"
        manifest_set created "$path" "$(sha "$path")" - "$svc"
      elif i=$(manifest_find edited "$path"); then
        write_file "$path" "$new"
        manifest_set edited "$path" "$(sha "$path")" "${M_BACKUP[i]}" "$svc"
      else
        b=$(backup_of "$path")
        cp -p "$(H "$path")" "$(H "$b")"
        write_file "$path" "$new"
        manifest_set edited "$path" "$(sha "$path")" "$b" "$svc"
        say "$path: original saved as $ROOT$b"
      fi
      CHANGED_SERVICES+=("$svc")
      say "$path: dune runtime added"
      ;;
  esac
}

# ------------------------------------------------------------------ restart
restart_services() {
  local svc unit
  for svc in "$@"; do
    case $svc in containerd) unit=containerd ;; docker) unit=docker ;; *) continue ;; esac
    if ((!RESTART)); then
      say "restart $unit to apply the change (or rerun with --restart)"
      continue
    fi
    if [[ -z $ROOT ]]; then
      if command -v systemctl >/dev/null && [[ -d /run/systemd/system ]]; then
        say "restarting $unit"
        systemctl restart "$unit" || die "systemctl restart $unit failed"
      else
        say "no systemd here: restart $unit yourself"
      fi
    elif [[ /proc/1/root/ -ef $ROOT/ ]] && command -v nsenter >/dev/null; then
      # PID 1 sees the --root tree as / (hostPID): run the host's systemctl there.
      say "restarting $unit on the host"
      nsenter --target 1 --mount --uts --ipc --net --pid -- systemctl restart "$unit" ||
        die "systemctl restart $unit on the host failed"
    else
      say "cannot reach the host's init from here: restart $unit on the host yourself"
    fi
  done
}

# ------------------------------------------------------------------ install
source_dir() {
  local here
  here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  if [[ -n $FROM ]]; then echo "$FROM"
  elif [[ -x $here/bin/dune ]]; then echo "$here/bin"
  elif [[ -x $here/../build/bin/dune ]]; then (cd "$here/../build/bin" && pwd)
  else die "no binaries found beside $here (bin/) or in build/bin: run make build, or pass --from DIR"
  fi
}

do_install() {
  local src b dst i new
  src=$(source_dir)
  for b in "${BINARIES[@]}"; do [[ -x $src/$b ]] || die "$src/$b is missing (make build)"; done
  manifest_load

  # Decide everything first: a refusal leaves the host untouched.
  local do_cd=0 do_dk=0
  CD_ACTION=none DK_ACTION=none
  if want_containerd; then do_cd=1; containerd_plan; [[ $CD_ACTION == none ]] || toml_check "$CD_NEW"
  elif [[ $CD_MODE == no ]]; then say "containerd: left alone (--no-containerd)"
  else say "containerd not found on the host: skipped (--containerd-config PATH to configure it anyway)"; fi
  if want_docker; then do_dk=1; docker_plan
  elif [[ $DK_MODE == no ]]; then say "docker: left alone (--no-docker)"
  else say "docker not found on the host: skipped (--docker-config PATH to configure it anyway)"; fi

  state_init
  mkdir_recorded "$PREFIX/bin"
  for b in "${BINARIES[@]}"; do
    dst=$PREFIX/bin/$b
    new=$(sha256sum "$src/$b" | cut -d' ' -f1)
    if [[ -f $(H "$dst") && $(sha "$dst") == "$new" ]]; then
      # Same bytes: nothing to do (recorded as ours only if an install put it there).
      continue
    fi
    if i=$(manifest_find bin "$dst"); then
      install -m 0755 "$src/$b" "$(H "$dst").dune-tmp.$$"
      mv -f "$(H "$dst").dune-tmp.$$" "$(H "$dst")"
      manifest_set bin "$dst" "$new" "${M_BACKUP[i]}" -
    else
      local bk=-
      if [[ -e $(H "$dst") ]]; then
        bk=$(backup_of "$dst")
        cp -p "$(H "$dst")" "$(H "$bk")"
      fi
      install -m 0755 "$src/$b" "$(H "$dst").dune-tmp.$$"
      mv -f "$(H "$dst").dune-tmp.$$" "$(H "$dst")"
      manifest_set bin "$dst" "$new" "$bk" -
    fi
    say "installed $ROOT$dst"
  done

  if ((do_cd)); then apply_config containerd "$CD_CONFIG" "$CD_ACTION" "$CD_NEW"; fi
  if ((do_dk)); then apply_config docker "$DK_CONFIG" "$DK_ACTION" "$DK_NEW"; fi
  if ((${#CHANGED_SERVICES[@]})); then restart_services "${CHANGED_SERVICES[@]}"; fi
  say "done (manifest: $ROOT$MANIFEST)"
}

# ------------------------------------------------------------------ uninstall
KEEP=()

# revert_config SERVICE PATH KIND SHA BACKUP
revert_config() {
  local svc=$1 path=$2 kind=$3 s=$4 b=$5 f tmp
  f=$(H "$path")
  if [[ ! -e $f ]]; then
    say "$path: already gone"
    if [[ $kind == edited ]]; then say "$path: its original is kept as $ROOT$b"; KEEP+=("$b"); fi
    return 0
  fi
  if [[ $(sha "$path") == "$s" ]]; then
    # Untouched since the install: put back exactly what was there.
    if [[ $kind == created ]]; then rm -f "$f"; say "$path: removed (the installer created it)"
    else cp -p "$(H "$b")" "$f"; say "$path: restored byte for byte"; fi
  else
    # Edited by someone since: take out only our entries, keep the rest.
    tmp=$(mktemp)
    TMPFILES+=("$tmp")
    if [[ $svc == containerd ]]; then strip_block "$f" >"$tmp"
    else jq 'del(.runtimes.dune) | if .runtimes == {} then del(.runtimes) else . end' "$f" >"$tmp"; fi
    write_file "$path" "$tmp"
    say "$path: changed since the install: removed only the dune entries"
    if [[ $kind == edited ]]; then say "$path: the original from before the install is kept as $ROOT$b"; KEEP+=("$b"); fi
  fi
  CHANGED_SERVICES+=("$svc")
}

do_uninstall() {
  manifest_load
  if [[ ${#M_KIND[@]} == 0 ]]; then
    say "nothing to uninstall (no manifest at $ROOT$MANIFEST)"
    return 0
  fi
  local i p k
  for i in "${!M_KIND[@]}"; do
    p=${M_PATH[i]}
    case ${M_KIND[i]} in
      created|edited) revert_config "${M_SVC[i]}" "$p" "${M_KIND[i]}" "${M_SHA[i]}" "${M_BACKUP[i]}" ;;
      bin)
        if [[ ${M_BACKUP[i]} != - ]]; then
          cp -p "$(H "${M_BACKUP[i]}")" "$(H "$p")"
          say "$p: the file that was there before is back"
        else
          rm -f "$(H "$p")"
          say "$p: removed"
        fi
        ;;
    esac
  done
  rm -f "$(H "$MANIFEST")"
  for i in "${!M_KIND[@]}"; do
    [[ ${M_BACKUP[i]} != - ]] || continue
    for k in "${KEEP[@]}"; do [[ $k == "${M_BACKUP[i]}" ]] && continue 2; done
    rm -f "$(H "${M_BACKUP[i]}")"
  done
  # Directories the installer created, deepest first, if nothing else lives there now.
  for ((i = ${#M_KIND[@]} - 1; i >= 0; i--)); do
    if [[ ${M_KIND[i]} == dir ]]; then rmdir "$(H "${M_PATH[i]}")" 2>/dev/null || true; fi
  done
  if ((${#CHANGED_SERVICES[@]})); then restart_services "${CHANGED_SERVICES[@]}"; fi
  say "uninstalled"
}

TMPFILES=()
trap 'rm -f "${TMPFILES[@]}"' EXIT
if ((UNINSTALL)); then do_uninstall; else do_install; fi
