# Paths and settings shared by the VM scripts (sourced, not run).
#   VM_DIR        where everything is built and cached (default build/e2e/vm)
#   VM_KERNEL_PKG the versioned Debian kernel package (default: what linux-image-amd64 depends on)
E2E_REPO=${E2E_REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
VM_SRC=$E2E_REPO/e2e/vm
VM_DIR=${VM_DIR:-$E2E_REPO/build/e2e/vm}

vm_die() { echo "vm: FATAL: $*" >&2; exit 1; }
vm_log() { echo "vm: $*" >&2; }

# vm_need CMD PACKAGE...: fails loudly when a host tool is missing.
vm_need() {
  local cmd=$1; shift
  command -v "$cmd" >/dev/null || vm_die "$cmd is missing (apt-get install $*; e2e/install-deps.sh installs it)"
}
