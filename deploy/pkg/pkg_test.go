package main

import (
	"bytes"
	"context"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// need returns the path of a tool the check runs; scripts/test.sh installs them (dpkg is part
// of every Debian system, systemd-analyze comes with the systemd package).
func need(t *testing.T, tool string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing (scripts/test.sh installs it)", tool)
		}
		t.Skipf("%s is not installed", tool)
	}
	return p
}

func sh(t *testing.T, name string, args ...string) string {
	t.Helper()
	var out, errs bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &out, &errs
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out.String(), errs.String())
	}
	return out.String() + errs.String()
}

// The packages hold a static binary of their architecture that knows its version, the config
// files as conffiles readable by the service's group only, the hardened unit, and the
// maintainer scripts; the amd64 one installs into an empty root where the docs say, with the
// neighborbot user created.
//
// The test builds amd64 (this machine's, installed below) and loong64 (the port furthest from
// it), not arm64: each cross-build compiles the whole dependency graph again, about two minutes
// of CPU on a cold cache, and the suite must stay within 15 minutes on two cores from a fresh
// machine. arm64 goes through exactly the same code with another GOARCH; `go run ./deploy/pkg`
// builds all three (Arches).
var testedArches = []string{"amd64", "loong64"}

func TestPackages(t *testing.T) {
	need(t, "dpkg-deb")
	need(t, "dpkg")
	analyze := need(t, "systemd-analyze")
	ctx := context.Background()
	root, err := moduleRoot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	machines := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64, "loong64": elf.EM_LOONGARCH}
	debs := map[string]string{}
	for _, arch := range testedArches {
		if !slices.Contains(Arches, arch) {
			t.Fatalf("%s is not among the architectures built by default %v", arch, Arches)
		}
		deb, err := Build(ctx, Options{Root: root, Version: "1.2.3", Arch: arch, Out: out})
		if err != nil {
			t.Fatal(err)
		}
		debs[arch] = deb
		if filepath.Base(deb) != "neighborbot_1.2.3_"+arch+".deb" {
			t.Errorf("package file %s", deb)
		}

		info := sh(t, "dpkg-deb", "--info", deb)
		for _, want := range []string{"Package: neighborbot", "Version: 1.2.3", "Architecture: " + arch, "Recommends: fonts-wqy-microhei",
			" preinst", " postinst", " prerm", " postrm", " conffiles"} {
			if !strings.Contains(info, want) {
				t.Errorf("%s: dpkg-deb --info lacks %q:\n%s", arch, want, info)
			}
		}
		contents := sh(t, "dpkg-deb", "--contents", deb)
		for _, want := range []string{
			"-rwxr-xr-x root/root", "./usr/bin/neighborbot",
			"-rw-r----- root/neighborbot", "./etc/neighborbot/config.yaml", "./etc/default/neighborbot",
			"-rw-r--r-- root/root", "./usr/lib/systemd/system/neighborbot.service",
			"./usr/share/doc/neighborbot/OPERATIONS.md",
			"drwxr-x--- neighborbot/neighborbot", "./var/lib/neighborbot/",
		} {
			if !strings.Contains(contents, want) {
				t.Errorf("%s: dpkg-deb --contents lacks %q:\n%s", arch, want, contents)
			}
		}
		for line := range strings.Lines(contents) {
			if strings.Contains(line, "/etc/") && !strings.HasSuffix(strings.TrimSpace(line), "/") && !strings.HasPrefix(line, "-rw-r----- root/neighborbot") {
				t.Errorf("%s: a file under /etc is readable by others or not owned by root:neighborbot: %s", arch, line)
			}
		}

		ctrl := filepath.Join(out, "control-"+arch)
		sh(t, "dpkg-deb", "--control", deb, ctrl)
		conffiles, err := os.ReadFile(filepath.Join(ctrl, "conffiles"))
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Fields(string(conffiles)); !slices.Equal(got, []string{"/etc/default/neighborbot", "/etc/neighborbot/config.yaml"}) &&
			!slices.Equal(got, []string{"/etc/neighborbot/config.yaml", "/etc/default/neighborbot"}) {
			t.Errorf("%s: conffiles %q", arch, got)
		}

		fsys := filepath.Join(out, "fs-"+arch)
		sh(t, "dpkg-deb", "-x", deb, fsys)
		f, err := elf.Open(filepath.Join(fsys, "usr/bin/neighborbot"))
		if err != nil {
			t.Fatal(err)
		}
		if f.Machine != machines[arch] {
			t.Errorf("%s: the binary is for %v", arch, f.Machine)
		}
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Errorf("%s: the binary is dynamically linked (CGO must be off)", arch)
			}
		}
		f.Close()
	}

	// Install the amd64 package into an empty root: dpkg's own database there, the maintainer
	// scripts run outside a chroot with DPKG_ROOT set (the root has no shell of its own).
	r := t.TempDir()
	for _, d := range []string{"var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers", "etc"} {
		if err := os.MkdirAll(filepath.Join(r, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, text := range map[string]string{
		"var/lib/dpkg/status": "", "var/lib/dpkg/available": "",
		"etc/passwd": "root:x:0:0:root:/root:/bin/sh\n", "etc/group": "root:x:0:\n",
		"etc/shadow": "root:*:20000:0:99999:7:::\n", "etc/gshadow": "root:*::\n",
	} {
		if err := os.WriteFile(filepath.Join(r, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dpkg := func(args ...string) string {
		t.Helper()
		return sh(t, "dpkg", append([]string{"--root=" + r, "--force-script-chrootless", "--log=/dev/null"}, args...)...)
	}
	dpkg("--install", debs["amd64"])

	passwd, _ := os.ReadFile(filepath.Join(r, "etc/passwd"))
	if !regexp.MustCompile(`(?m)^neighborbot:x:\d+:\d+:neighborbot service:/var/lib/neighborbot:/usr/sbin/nologin$`).Match(passwd) {
		t.Errorf("preinst did not create the system user:\n%s", passwd)
	}
	for path, mode := range map[string]os.FileMode{
		"usr/bin/neighborbot":                           0o755,
		"etc/neighborbot/config.yaml":                   0o640,
		"etc/default/neighborbot":                       0o640,
		"usr/lib/systemd/system/neighborbot.service":    0o644,
		"usr/share/doc/neighborbot/OPERATIONS.md":       0o644,
		"usr/share/doc/neighborbot/config.example.yaml": 0o644,
		"var/lib/neighborbot":                           0o750,
	} {
		info, err := os.Stat(filepath.Join(r, path))
		if err != nil {
			t.Errorf("after install: %v", err)
			continue
		}
		if info.Mode().Perm() != mode {
			t.Errorf("/%s has mode %v, want %v", path, info.Mode().Perm(), mode)
		}
	}
	status, _ := os.ReadFile(filepath.Join(r, "var/lib/dpkg/status"))
	for _, want := range []string{"Status: install ok installed", "Conffiles:\n /etc/default/neighborbot ", "\n /etc/neighborbot/config.yaml "} {
		if !strings.Contains(string(status), want) {
			t.Errorf("dpkg's status lacks %q:\n%s", want, status)
		}
	}
	if v := sh(t, filepath.Join(r, "usr/bin/neighborbot"), "version"); !strings.HasPrefix(v, "neighborbot 1.2.3 (go") || !strings.Contains(v, "linux/amd64") {
		t.Errorf("neighborbot version printed %q", v)
	}
	// The installed config is the example, and the defaults file points the service at it.
	cfgOut := sh(t, "env", "-i", "NEIGHBORBOT_CONFIG="+filepath.Join(r, "etc/neighborbot/config.yaml"), filepath.Join(r, "usr/bin/neighborbot"), "check")
	if !strings.Contains(cfgOut, "config OK") {
		t.Errorf("the installed config does not check: %s", cfgOut)
	}

	// The unit as systemd reads it. verify needs the binary the unit names where it says, and
	// with --root it cannot find systemd's own targets, so it reads a copy naming the binary
	// just installed.
	unit, err := os.ReadFile(filepath.Join(r, "usr/lib/systemd/system/neighborbot.service"))
	if err != nil {
		t.Fatal(err)
	}
	copied := strings.Replace(string(unit), "ExecStart=/usr/bin/neighborbot ", "ExecStart="+filepath.Join(r, "usr/bin/neighborbot")+" ", 1)
	if copied == string(unit) {
		t.Fatal("the unit does not start /usr/bin/neighborbot")
	}
	unitPath := filepath.Join(t.TempDir(), "neighborbot.service")
	if err := os.WriteFile(unitPath, []byte(copied), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := sh(t, analyze, "verify", unitPath); strings.TrimSpace(out) != "" {
		t.Errorf("systemd-analyze verify complained:\n%s", out)
	}
	for _, want := range []string{"User=neighborbot", "StateDirectory=neighborbot", "ProtectSystem=strict", "NoNewPrivileges=yes",
		"PrivateTmp=yes", "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX", "MemoryMax=", "KillSignal=SIGTERM",
		"EnvironmentFile=/etc/default/neighborbot"} {
		if !strings.Contains(string(unit), "\n"+want) {
			t.Errorf("the unit lacks %s", want)
		}
	}

	// Removal keeps the conffiles, purge removes them; neither touches the user's data.
	dpkg("--remove", "neighborbot")
	if _, err := os.Stat(filepath.Join(r, "usr/bin/neighborbot")); !os.IsNotExist(err) {
		t.Error("remove left the binary")
	}
	if _, err := os.Stat(filepath.Join(r, "etc/default/neighborbot")); err != nil {
		t.Errorf("remove took the conffile: %v", err)
	}
	dpkg("--purge", "neighborbot")
	if _, err := os.Stat(filepath.Join(r, "etc/default/neighborbot")); !os.IsNotExist(err) {
		t.Error("purge left /etc/default/neighborbot")
	}
}
