# Every version the test environment pins, in one place (read by shell and TypeScript).
KUBE_VERSION=v1.34.4
ETCD_VERSION=v3.6.16
RESTIC_VERSION=v0.18.1
SNAPSHOTTER_VERSION=v8.7.0
HELM_VERSION=v3.19.2
# Only for the engines benchmark (bench/engines.ts), built on first use.
KOPIA_VERSION=v0.21.1
# Debian bookworm's prometheus package, for promtool (scripts/setup.sh).
PROMETHEUS_DEB_VERSION=2.42.0+ds-5+deb12u1
# npm in the locally made node base image (testenv/scripts/build-image.sh).
NPM_VERSION=11.21.3
# The CSI specification the real node's CSI plugin serves (testenv/csi-node).
CSI_SPEC_VERSION=v1.11.0
# Flux's GitRepository CRD (the CRD only), for the GitOps journeys; newer releases need Go 1.27.
FLUX_SOURCE_VERSION=v1.7.0
