// Package shipbuild builds Go packages the way the binary that ships is built (deploy/pkg):
// CGO off and -trimpath. The benchmark harness and the tests that run the real binary build
// with it too, so what they measure is what runs in production, and what they compile is in
// the build cache for the package's own build (scripts/test.sh vets with the same flags).
package shipbuild

import (
	"context"
	"os"
	"os/exec"
)

// Command is `go build -trimpath [flags] -o out pkg` run in dir with CGO_ENABLED=0 (and env
// after it, e.g. GOOS and GOARCH for a cross-build).
func Command(ctx context.Context, dir, out, pkg string, flags, env []string) *exec.Cmd {
	args := append([]string{"build", "-trimpath"}, flags...)
	cmd := exec.CommandContext(ctx, "go", append(args, "-o", out, pkg)...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "CGO_ENABLED=0"), env...)
	return cmd
}
