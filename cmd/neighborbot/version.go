package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// buildVersion is set by the package build: go build -ldflags "-X main.buildVersion=1.2.0"
// (deploy/pkg does).
var buildVersion string

// version is buildVersion, else the module version go install recorded, else "devel".
func version() string {
	if buildVersion != "" {
		return buildVersion
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

// versionLine is what `neighborbot version` prints: "neighborbot 1.2.0 (go1.26.8 linux/arm64)".
func versionLine() string {
	return fmt.Sprintf("neighborbot %s (%s %s/%s)", version(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
