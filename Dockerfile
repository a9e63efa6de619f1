# The dune node installer image: builds the runtime from source, then packages the binaries
# with deploy/install.sh (the entrypoint). Used by deploy/kubernetes/installer-daemonset.yaml.
#
#   docker build -t dune-installer:0.1.0 .
#   docker run --rm --privileged -v /:/host dune-installer:0.1.0 --root /host
#
# Works with the classic builder (docker 20.10) as well as BuildKit. The binaries are
# NativeAOT and link the build image's glibc: a node needs glibc >= that of SDK_IMAGE
# (Debian 12 bookworm: 2.36).
ARG SDK_IMAGE=mcr.microsoft.com/dotnet/sdk:9.0-bookworm-slim
ARG BASE_IMAGE=debian:bookworm-slim

FROM ${SDK_IMAGE} AS build
# NuGet's certificate revocation check needs the CAs' CRL servers; "offline" where they are
# unreachable.
ARG NUGET_CERT_REVOCATION_MODE=online
ENV DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 \
    NUGET_CERT_REVOCATION_MODE=${NUGET_CERT_REVOCATION_MODE}
# C toolchain for dune-init and dune-run (static) and NativeAOT's linker (gcc, zlib).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential zlib1g-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Project files first: the NuGet restore layer survives source edits.
COPY Directory.Build.props Dune.sln ./
COPY oci/Dune.Oci/Dune.Oci.csproj oci/Dune.Oci/
COPY oci/Dune.Cli/Dune.Cli.csproj oci/Dune.Cli/
COPY shim/Dune.Shim.Ttrpc/Dune.Shim.Ttrpc.csproj shim/Dune.Shim.Ttrpc/
COPY shim/Dune.Shim/Dune.Shim.csproj shim/Dune.Shim/
RUN dotnet restore oci/Dune.Cli/Dune.Cli.csproj -r linux-x64 \
 && dotnet restore shim/Dune.Shim/Dune.Shim.csproj -r linux-x64
COPY . .
# .git stays out of the context: `dune --version` names the commit given here
# (docker build --build-arg DUNE_COMMIT=$(git rev-parse HEAD) .), else "unknown".
ARG DUNE_COMMIT=unknown
RUN make build DUNE_COMMIT="$DUNE_COMMIT" && build/bin/dune --version

FROM ${BASE_IMAGE}
# jq: install.sh edits daemon.json with it; nsenter (util-linux) reaches the host's systemd.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends jq util-linux \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/build/bin/ /opt/dune/bin/
COPY deploy/install.sh /opt/dune/install.sh
ENTRYPOINT ["/opt/dune/install.sh"]
CMD ["--help"]
