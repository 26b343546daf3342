#!/bin/sh
# deploy/build.sh TARGET OUT [GOOS [GOARCH]]
#
# The one build command of aotsym's shipped binaries: the Dockerfile, the SAM
# deployment, the CI snippets and the tests (deploy/deploy_test.go) all run
# this script, so what is tested is what ships.
#
#   TARGET  aotsym     the CLI and server (the container image's /aotsym)
#           bootstrap  the Lambda function (runtime provided.al2023)
#   OUT     where to write the binary
#   GOOS, GOARCH  default to $TARGETOS/$TARGETARCH (set by docker buildx),
#           else linux and the host's architecture. Lambda: arm64 or amd64.
#
# The binaries are static (CGO_ENABLED=0), reproducible (-trimpath, no VCS
# stamp) and stripped (-s -w); VERSION (default dev) is what --version and
# /healthz report.
set -eu
if [ $# -lt 2 ]; then
	echo "usage: deploy/build.sh aotsym|bootstrap OUT [GOOS [GOARCH]]" >&2
	exit 2
fi
target=$1
out=$2
goos=${3:-${TARGETOS:-linux}}
goarch=${4:-${TARGETARCH:-$(go env GOARCH)}}
case $target in
aotsym) pkg=./cmd/aotsym tags= ;;
bootstrap) pkg=./cmd/aotsym-lambda tags=lambda.norpc ;;
*)
	echo "deploy/build.sh: unknown target $target: use aotsym or bootstrap" >&2
	exit 2
	;;
esac
case $out in
/*) ;;
*) out=$(pwd)/$out ;;
esac
cd "$(dirname "$0")/.."
CGO_ENABLED=0 GOOS=$goos GOARCH=$goarch exec go build -trimpath -buildvcs=false -tags "$tags" \
	-ldflags "-s -w -X main.version=${VERSION:-dev}" -o "$out" "$pkg"
