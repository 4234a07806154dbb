package main

import (
	"os"
	"testing"
	"time"
)

func TestParseStatus(t *testing.T) {
	m, err := parseStatus([]byte("Name:\tneighborbot\nVmPeak:\t  900000 kB\nVmHWM:\t   51234 kB\nVmRSS:\t   40960 kB\nRssAnon:\t   10240 kB\nRssFile:\t   30720 kB\n"))
	if err != nil || m.RSS != 40960 || m.HWM != 51234 || m.Anon != 10240 || m.File != 30720 {
		t.Errorf("got %+v, %v", m, err)
	}
	if _, err := parseStatus([]byte("Name:\tx\n")); err == nil {
		t.Error("status without VmRSS accepted")
	}
}

func TestParseStatCPUWithSpacesInName(t *testing.T) {
	line := "4242 (my (odd) bot) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 50 0 0 20 0 12 0 1 0 0"
	d, err := parseStatCPU([]byte(line))
	if err != nil || d != 3*time.Second {
		t.Errorf("got %v, %v; want 3s (250+50 ticks)", d, err)
	}
}

func TestReadOwnProc(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc")
	}
	if m, err := readMem(os.Getpid()); err != nil || m.RSS <= 0 {
		t.Errorf("own memory: %+v, %v", m, err)
	}
	if _, err := cpuTime(os.Getpid()); err != nil {
		t.Errorf("own cpu: %v", err)
	}
}
