package app

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/neighborbot/neighborbot/config"
	"github.com/neighborbot/neighborbot/internal/setup"
	"github.com/neighborbot/neighborbot/scheduler"
)

// Validate checks cfg as start-up does, without opening a store or calling a platform: the
// config's own rules, the playground's, the org tree, the holiday file and the schedules'
// recurrence rules. New calls it first and `neighborbot check` calls it alone, so a config
// that would not start fails check with the same message.
func Validate(cfg *config.Config) error {
	if cfg == nil {
		return errors.New("app: no config")
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if err := checkPlayground(cfg); err != nil {
		return err
	}
	if _, err := setup.Tree(cfg); err != nil {
		return fmt.Errorf("org tree: %w", err)
	}
	if _, err := scheduler.LoadHolidays(cfg.HolidaysFile); err != nil {
		return fmt.Errorf("scheduler: %w", err)
	}
	if err := checkScheduleRules(cfg.Schedules); err != nil {
		return fmt.Errorf("scheduler: %w", err)
	}
	if err := checkBackupDir(cfg.Backup.Dir); err != nil {
		return err
	}
	return nil
}

// checkBackupDir refuses a backup directory that exists as something else: every night's
// backup would fail. A missing one is made by the first backup.
func checkBackupDir(dir string) error {
	if dir == "" {
		return nil
	}
	info, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("backup.dir (NEIGHBORBOT_BACKUP_DIR): %w", err)
	case !info.IsDir():
		return fmt.Errorf("backup.dir (NEIGHBORBOT_BACKUP_DIR): %s is not a directory", dir)
	}
	return nil
}

// checkPlayground refuses a playground over Feishu or WeCom groups: with no platform
// credentials those groups are not reached through their platform but shown on the
// playground's page, which has no login, with real people's messages and names.
func checkPlayground(cfg *config.Config) error {
	if !cfg.LocalEnabled() {
		return nil
	}
	var real []string
	for _, g := range cfg.Groups {
		if p := config.Platform(g.ID); p == config.PlatformFeishu || p == config.PlatformWeCom {
			real = append(real, g.ID)
		}
	}
	if len(real) == 0 {
		return nil
	}
	return fmt.Errorf("playground: groups %s are Feishu/WeCom chats, but no platform credentials are set, so the "+
		"playground (a page without login) would show them: set the platform's credentials (FEISHU_APP_ID and "+
		"FEISHU_APP_SECRET, or WECOM_CORP_ID, WECOM_AGENT_ID and WECOM_SECRET), or list only local: groups",
		strings.Join(real, ", "))
}

// checkScheduleRules parses every schedule's recurrence rule, as scheduler.New does.
func checkScheduleRules(schedules []config.Schedule) error {
	var errs []error
	for i, sc := range schedules {
		if _, err := scheduler.ParseRule(sc.Rule); err != nil {
			errs = append(errs, fmt.Errorf("schedules[%d].rule (%s): %w", i, sc.ID, err))
		}
	}
	return errors.Join(errs...)
}
