// Command pkg builds neighborbot's Debian packages (for Kylin, UOS and Debian), one per
// architecture, with nfpm as a library: nothing to install but Go.
//
//	go run ./deploy/pkg [-version 0.1.0] [-arch amd64,arm64,loong64] [-out dist]
//
// writes dist/neighborbot_<version>_<arch>.deb. The binary is built with CGO off, -trimpath
// and the version stamped in (`neighborbot version` prints it). The version defaults to
// deploy/VERSION. What the package installs, and why: docs/OPERATIONS.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/goreleaser/nfpm/v2"
	"github.com/goreleaser/nfpm/v2/deb"
	"github.com/goreleaser/nfpm/v2/files"

	"github.com/neighborbot/neighborbot/internal/shipbuild"
)

// Arches are the architectures built by default: Go's names, which are also Debian's.
var Arches = []string{"amd64", "arm64", "loong64"}

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "pkg:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("pkg", flag.ContinueOnError)
	fs.SetOutput(stderr)
	version := fs.String("version", "", "package version (default: deploy/VERSION)")
	arches := fs.String("arch", strings.Join(Arches, ","), "comma-separated architectures")
	out := fs.String("out", "dist", "output directory")
	if err := fs.Parse(args); err != nil {
		return err
	}
	root, err := moduleRoot(ctx)
	if err != nil {
		return err
	}
	if *version == "" {
		v, err := os.ReadFile(filepath.Join(root, "deploy", "VERSION"))
		if err != nil {
			return err
		}
		*version = strings.TrimSpace(string(v))
	}
	for _, arch := range strings.Split(*arches, ",") {
		path, err := Build(ctx, Options{Root: root, Version: *version, Arch: strings.TrimSpace(arch), Out: *out})
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, path)
	}
	return nil
}

// Options say what Build makes.
type Options struct {
	Root    string // the module's root directory
	Version string // e.g. 0.1.0
	Arch    string // Go's GOARCH: amd64, arm64, loong64
	Out     string // output directory (made if missing)
}

// moduleRoot is the directory of the main module's go.mod.
func moduleRoot(ctx context.Context) (string, error) {
	b, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(b))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside the neighborbot module")
	}
	return filepath.Dir(gomod), nil
}

// Build cross-compiles neighborbot for o.Arch and packages it as
// <Out>/neighborbot_<Version>_<Arch>.deb, returning that path.
func Build(ctx context.Context, o Options) (string, error) {
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return "", err
	}
	bin := filepath.Join(o.Out, "neighborbot-linux-"+o.Arch)
	cmd := shipbuild.Command(ctx, o.Root, bin, "./cmd/neighborbot",
		[]string{"-ldflags", "-s -w -X main.buildVersion=" + o.Version}, []string{"GOOS=linux", "GOARCH=" + o.Arch})
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build linux/%s: %w\n%s", o.Arch, err, b)
	}
	defer os.Remove(bin)

	src := func(p string) string { return filepath.Join(o.Root, filepath.FromSlash(p)) }
	file := func(from, to string, mode os.FileMode) *files.Content {
		return &files.Content{Source: src(from), Destination: to, FileInfo: &files.ContentFileInfo{Mode: mode, Owner: "root", Group: "root"}}
	}
	// The config names members with their phones and the defaults file holds secrets: root
	// writes them, the service's group reads them, nobody else.
	conffile := func(from, to string) *files.Content {
		return &files.Content{Source: src(from), Destination: to, Type: files.TypeConfig,
			FileInfo: &files.ContentFileInfo{Mode: 0o640, Owner: "root", Group: "neighborbot"}}
	}
	binary := file("", "/usr/bin/neighborbot", 0o755)
	binary.Source = bin
	info := &nfpm.Info{
		Name:       "neighborbot",
		Arch:       o.Arch,
		Platform:   "linux",
		Version:    o.Version,
		Section:    "net",
		Priority:   "optional",
		Maintainer: "neighborbot <neighborbot@users.noreply.github.com>",
		Description: "community service bot for Feishu and WeCom groups (邻里帮)\n" +
			" Residents file needs in their community chat groups; grid workers and party members\n" +
			" claim and close them; notices, activities and the ledger (台账) run from the chat.",
		Homepage: "https://github.com/neighborbot/neighborbot",
		License:  "proprietary",
		Overridables: nfpm.Overridables{
			Recommends: []string{"fonts-wqy-microhei"}, // the ledger's charts draw Chinese labels with it
			Contents: files.Contents{
				binary,
				conffile("config.example.yaml", "/etc/neighborbot/config.yaml"),
				conffile("deploy/debian/default", "/etc/default/neighborbot"),
				file("deploy/debian/neighborbot.service", "/usr/lib/systemd/system/neighborbot.service", 0o644),
				file("docs/OPERATIONS.md", "/usr/share/doc/neighborbot/OPERATIONS.md", 0o644),
				file("config.example.yaml", "/usr/share/doc/neighborbot/config.example.yaml", 0o644),
				// systemd's StateDirectory= would make it at the first start; shipped, it is there
				// for a restore onto a new host before the bot ever ran.
				{Destination: "/var/lib/neighborbot", Type: files.TypeDir,
					FileInfo: &files.ContentFileInfo{Mode: 0o750, Owner: "neighborbot", Group: "neighborbot"}},
			},
			Scripts: nfpm.Scripts{
				PreInstall:  src("deploy/debian/preinst"),
				PostInstall: src("deploy/debian/postinst"),
				PreRemove:   src("deploy/debian/prerm"),
				PostRemove:  src("deploy/debian/postrm"),
			},
		},
	}
	info = nfpm.WithDefaults(info)
	if err := nfpm.Validate(info); err != nil {
		return "", err
	}
	target := filepath.Join(o.Out, fmt.Sprintf("neighborbot_%s_%s.deb", o.Version, o.Arch))
	f, err := os.Create(target)
	if err != nil {
		return "", err
	}
	if err := deb.Default.Package(info, f); err != nil {
		f.Close()
		os.Remove(target)
		return "", fmt.Errorf("package linux/%s: %w", o.Arch, err)
	}
	return target, f.Close()
}
