# Rampart in a container: the SDK image compiles the gateway ahead of time (Native AOT) into one executable, and the
# runtime-deps image (the OS libraries only, no .NET runtime) runs it as the image's non-root "app" user.
# Not built on our CI machines (they have no Docker engine); test.sh publishes the same executable and tests it.
# See "Operations" in README.md.
#
#   docker build -t rampart .
#   docker run -p 8080:8080 -v rampart-data:/data -e OPENAI_API_KEY=sk-… rampart
#
# Stop with a grace period longer than RAMPART_DRAIN_SECONDS (default 30), e.g. `docker stop -t 40`, so that
# streams in flight finish and the audit log is flushed before the container is killed.

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
# Native AOT links with clang; zlib1g-dev for the compression library it links against.
RUN apt-get update && apt-get install -y --no-install-recommends clang zlib1g-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Restore first, from the project files only, so that a code change does not invalidate the package layer.
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig ./
COPY src/Rampart/Rampart.csproj src/Rampart/
RUN dotnet restore src/Rampart/Rampart.csproj
COPY src/ src/
# Not --no-restore: publishing ahead of time adds the compiler's packages for this machine's platform. On x64 the
# executable is built for x86-64-v3 (AVX2); for an older CPU add -p:IlcInstructionSet=x86-64-v2 (see Rampart.csproj).
RUN dotnet publish src/Rampart/Rampart.csproj -c Release -o /app \
    && rm -f /app/*.dbg

FROM mcr.microsoft.com/dotnet/runtime-deps:10.0 AS runtime
WORKDIR /app
COPY --from=build /app .
# The data folder holds the SQLite database (when RAMPART_POSTGRES is not set), the audit spool and the
# Data Protection key ring that encrypts workspace credentials and dashboard cookies: keep it on a volume.
RUN mkdir -p /data && chown app:app /data
# MALLOC_ARENA_MAX=2: glibc gives each thread that meets contention a malloc arena of its own and keeps it; the
# runtime's native memory in two arenas holds 4-5 MB less at 1,000 requests/s (docs/benchmarks.md). glibc reads it
# only at process start, which is why it is set here and not by the application.
ENV ASPNETCORE_URLS=http://+:8080 \
    RAMPART_DATA_DIR=/data \
    RAMPART_LOG_FORMAT=json \
    MALLOC_ARENA_MAX=2
VOLUME ["/data"]
USER app
EXPOSE 8080
STOPSIGNAL SIGTERM
# The runtime image has no curl; the gateway's own executable probes /healthz.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["/app/Rampart", "healthcheck", "--url", "http://127.0.0.1:8080/healthz"]
ENTRYPOINT ["/app/Rampart"]
