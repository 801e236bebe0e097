#!/usr/bin/env bash
# Checks the Helm chart in deploy/helm/selfie-inspect without a cluster, with pinned tools from registries only.
#
#   scripts/helm-check.sh install   build helm and kubeconform into .tools/bin and write the JSON schemas into
#                                   .tools/schemas (reused when present; a cold build takes a few minutes)
#   scripts/helm-check.sh [check]   install, then: helm lint, helm template (default values and
#                                   values-production.yaml), kubeconform -strict on every rendered object
#
# Where everything comes from (the Go module proxy, nothing else):
#   helm          go install helm.sh/helm/v3/cmd/helm@$HELM_VERSION
#   kubeconform   go install github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM_VERSION
#   Kubernetes    api/openapi-spec/swagger.json inside the k8s.io/kubernetes@$KUBERNETES_VERSION module zip
#   KEDA CRDs     config/crd/bases/*.yaml inside the github.com/kedacore/keda/v2@$KEDA_VERSION module zip
#   ServiceMonitor example/prometheus-operator-crd/*servicemonitors.yaml inside the
#                 github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION module zip
# scripts/k8s-schemas.ts turns the OpenAPI definitions and the CRDs into strict JSON schemas (every object closed
# with additionalProperties: false, as kubeconform's own -strict schemas are): kubeconform's default schema
# download location is not reachable here, and this way the schemas are pinned like the tools.
#
# Rendered manifests are left in .tools/helm-check/ (one file per values file) for the tests and for reading.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools/bin"
SCHEMAS="$ROOT/.tools/schemas"
OUT="$ROOT/.tools/helm-check"
CHART="$ROOT/deploy/helm/selfie-inspect"

HELM_VERSION="v3.22.0"
KUBECONFORM_VERSION="v0.8.0"
KUBERNETES_VERSION="v1.34.4"
KEDA_VERSION="v2.21.0"
PROMETHEUS_OPERATOR_VERSION="v0.85.0"

log() { printf '[helm-check] %s\n' "$*" >&2; }

export GOTOOLCHAIN=local

# Prints the directory of a module version (downloading its zip through the Go module proxy when needed).
module_dir() { # module@version
  local json dir
  json="$(cd "$ROOT" && go mod download -json "$1")"
  dir="$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
  if [ -z "$dir" ] || [ ! -d "$dir" ]; then
    log "go mod download $1 gave no directory:"
    printf '%s\n' "$json" >&2
    return 1
  fi
  printf '%s\n' "$dir"
}

# True when .tools/bin/<binary> was built from exactly this module version (go version -m reads it from the binary).
built_from() { # binary module version
  [ -x "$TOOLS/$1" ] && [ "$(go version -m "$TOOLS/$1" 2>/dev/null | awk -v m="$2" '$1 == "mod" && $2 == m { print $3 }')" = "$3" ]
}

install_tools() {
  mkdir -p "$TOOLS"
  export GOBIN="$TOOLS"
  local pids=() pid status=0
  # Cold builds take minutes (helm most); run them side by side.
  if ! built_from helm helm.sh/helm/v3 "$HELM_VERSION"; then
    log "building helm $HELM_VERSION (a cold build takes a few minutes)"
    (cd "$ROOT" && go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION") &
    pids+=($!)
  fi
  if ! built_from kubeconform github.com/yannh/kubeconform "$KUBECONFORM_VERSION"; then
    log "building kubeconform $KUBECONFORM_VERSION"
    (cd "$ROOT" && go install "github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM_VERSION") &
    pids+=($!)
  fi
  for pid in "${pids[@]}"; do wait "$pid" || status=$?; done
  return $status
}

install_schemas() {
  local stamp="$SCHEMAS/.versions" want="kubernetes=$KUBERNETES_VERSION keda=$KEDA_VERSION prometheus-operator=$PROMETHEUS_OPERATOR_VERSION converter=$(sha256sum "$ROOT/scripts/k8s-schemas.ts" | cut -c1-16)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return 0; fi
  log "writing JSON schemas: Kubernetes $KUBERNETES_VERSION, KEDA $KEDA_VERSION, prometheus-operator $PROMETHEUS_OPERATOR_VERSION"
  local k8s keda promop
  k8s="$(module_dir "k8s.io/kubernetes@$KUBERNETES_VERSION")"
  keda="$(module_dir "github.com/kedacore/keda/v2@$KEDA_VERSION")"
  promop="$(module_dir "github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION")"
  rm -rf "$SCHEMAS"
  mkdir -p "$SCHEMAS"
  "$ROOT/node_modules/.bin/tsx" "$ROOT/scripts/k8s-schemas.ts" \
    --openapi "$k8s/api/openapi-spec/swagger.json" --out "$SCHEMAS/kubernetes" \
    --crds "$SCHEMAS/crds" "$keda"/config/crd/bases/keda.sh_*.yaml \
    "$promop/example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml"
  echo "$want" >"$stamp"
}

install() {
  install_tools
  install_schemas
  log "tools: helm $HELM_VERSION, kubeconform $KUBECONFORM_VERSION; schemas: Kubernetes $KUBERNETES_VERSION, KEDA $KEDA_VERSION"
}

# One values file (or none): lint, render to $OUT/<name>.yaml, validate every object.
check_values() { # name [values-file]
  local name=$1 values_args=()
  [ $# -gt 1 ] && values_args=(--values "$2")
  log "helm lint ($name)"
  "$TOOLS/helm" lint --strict --kube-version "$KUBERNETES_VERSION" "$CHART" "${values_args[@]}"
  log "helm template ($name)"
  "$TOOLS/helm" template selfie-inspect "$CHART" --namespace selfie --kube-version "$KUBERNETES_VERSION" \
    "${values_args[@]}" >"$OUT/$name.yaml"
  log "kubeconform -strict ($name, Kubernetes ${KUBERNETES_VERSION#v})"
  "$TOOLS/kubeconform" -strict -summary -kubernetes-version "${KUBERNETES_VERSION#v}" \
    -schema-location "$SCHEMAS/kubernetes/{{ .ResourceKind }}{{ .KindSuffix }}.json" \
    -schema-location "$SCHEMAS/crds/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json" \
    "$OUT/$name.yaml"
}

check() {
  install
  mkdir -p "$OUT"
  check_values default
  check_values production "$ROOT/deploy/helm/values-production.yaml"
}

case "${1:-check}" in
  install) install ;;
  check) check ;;
  *)
    echo "usage: $0 [install|check]" >&2
    exit 2
    ;;
esac
