package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// checkConfig is a small valid file the cases below break one way each.
const checkConfig = `
org:
  - id: xingfu
    name: 幸福社区
    kind: community
    children:
      - id: grid1
        name: 1网格
        kind: grid
groups:
  - id: local:xingfuli
    name: 幸福里小区群
    node: grid1
`

// `neighborbot check` refuses exactly the configs start-up refuses, with the same message.
func TestCheckFailsLikeStartUp(t *testing.T) {
	tests := []struct {
		name string
		file string
		env  map[string]string
		says []string // what the message must name
	}{
		{
			name: "a schedule rule the scheduler cannot read",
			file: checkConfig + `
schedules:
  - id: theme-day
    kind: theme
    title: 主题党日
    rule: 每逢初八 25:00
`,
			says: []string{"schedules[0].rule", "theme-day"},
		},
		{
			name: "half-set platform settings",
			file: checkConfig,
			env:  map[string]string{"WECOM_CORP_ID": "ww123", "WECOM_SECRET": "s"},
			says: []string{"wecom.agent_id", "WECOM_AGENT_ID"},
		},
		{
			name: "a bad org tree",
			file: strings.Replace(checkConfig, "id: grid1\n        name: 1网格\n        kind: grid",
				"id: xingfu\n        name: 1网格\n        kind: street", 1),
			says: []string{"org[0].children[0]", "xingfu"},
		},
		{
			name: "the playground over Feishu and WeCom groups",
			file: checkConfig + `
  - id: feishu:oc_5ad8
    name: 飞书群
    node: grid1
  - id: wecom:wr0g
    name: 企业微信群
    node: grid1
`,
			says: []string{"feishu:oc_5ad8", "wecom:wr0g", "playground"},
		},
		{
			name: "a backup directory that is a file",
			file: checkConfig,
			env:  map[string]string{"NEIGHBORBOT_BACKUP_DIR": "$CONFIG"}, // the config file itself
			says: []string{"backup.dir", "NEIGHBORBOT_BACKUP_DIR", "config.yaml is not a directory"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config.yaml")
			if err := os.WriteFile(path, []byte(tt.file), 0o600); err != nil {
				t.Fatal(err)
			}
			env := map[string]string{"NEIGHBORBOT_DATA": t.TempDir(), "NEIGHBORBOT_ADDR": "127.0.0.1:0", "NEIGHBORBOT_ADMIN_ADDR": "127.0.0.1:0", "NEIGHBORBOT_LOG_LEVEL": "error"}
			for k, v := range tt.env {
				env[k] = strings.ReplaceAll(v, "$CONFIG", path)
			}
			getenv := func(k string) string { return env[k] }
			// A serve that wrongly starts returns when this ends, and fails below.
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			var out, errs bytes.Buffer
			checkErr := run(ctx, []string{"check", "-config", path}, getenv, &out, &errs)
			serveErr := run(ctx, []string{"-config", path}, getenv, &out, &errs)
			if serveErr == nil || checkErr == nil {
				t.Fatalf("serve: %v; check: %v (output %q); want both to fail", serveErr, checkErr, out.String())
			}
			if checkErr.Error() != serveErr.Error() {
				t.Errorf("check and start-up disagree:\n check: %v\n serve: %v", checkErr, serveErr)
			}
			for _, s := range tt.says {
				if !strings.Contains(checkErr.Error(), s) {
					t.Errorf("check: %v\nwant it to name %q", checkErr, s)
				}
			}
		})
	}
}

func TestCheckAcceptsTheExample(t *testing.T) {
	var out, errs bytes.Buffer
	if err := run(context.Background(), []string{"check", "-config", "../../config.example.yaml"}, func(string) string { return "" }, &out, &errs); err != nil {
		t.Fatalf("check config.example.yaml: %v", err)
	}
	if !strings.Contains(out.String(), "config OK") {
		t.Errorf("check printed %q", out.String())
	}
}
