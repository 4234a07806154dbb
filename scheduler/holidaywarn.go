package scheduler

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/neighborbot/neighborbot/bot"
	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/store"
)

// officialCalendar is the power of a Calendar (Holidays) to say whether a year's holiday and
// 调休 dates were published to it.
type officialCalendar interface {
	Official(year int) bool
}

// MissingHolidaysText is what the secretaries are told, once, when an occurrence falls in a
// year whose official dates are not loaded.
func MissingHolidaysText(year int) string {
	return fmt.Sprintf("📅 %d年的放假调休安排还没有导入，已按法定节假日推算；国务院公布后请更新 holidays_file。", year)
}

// holidayWarnDoc is the CollMeta doc that records the warning about year.
func holidayWarnDoc(year int) string { return fmt.Sprintf("holidays-missing-%d", year) }

// warnUnofficial tells the secretaries, once across replicas, that the dates an occurrence
// falls on lie in a year without official holiday data. The replica that creates the year's
// doc sends the messages; their outbox ids come from the year and the recipient, so even a
// retry after a failed enqueue sends each once.
func (s *Scheduler) warnUnofficial(ctx context.Context, now time.Time, dates ...time.Time) error {
	oc, ok := s.cal.(officialCalendar)
	if !ok {
		return nil
	}
	for _, d := range dates {
		if d.IsZero() || oc.Official(d.Year()) {
			continue
		}
		if err := s.warnYear(ctx, d.Year(), now); err != nil {
			return err
		}
	}
	return nil
}

func (s *Scheduler) warnYear(ctx context.Context, year int, now time.Time) error {
	doc := holidayWarnDoc(year)
	switch _, err := s.st.GetDoc(ctx, CollMeta, doc); {
	case err == nil:
		return nil
	case community.ErrorCode(err) != community.ENotFound:
		return store.ErrUnavailable(err)
	}
	// Claim the warning atomically: the replica that creates the doc tells the secretaries;
	// one that finds it there leaves it.
	raw, err := json.Marshal(map[string]any{"warned_at": now})
	if err != nil {
		return err
	}
	mine := false
	if _, err := s.st.UpdateDoc(ctx, CollMeta, doc, func(old []byte) ([]byte, error) {
		mine = old == nil
		if !mine {
			return old, nil
		}
		return raw, nil
	}); err != nil {
		return store.ErrUnavailable(err)
	}
	if !mine {
		return nil
	}
	people, err := s.st.ListPersons(ctx)
	if err == nil {
		var outs []bot.Outbound
		for _, p := range people {
			if p.Role == community.RoleSecretary {
				outs = append(outs, privateOut(p.ID, fmt.Sprintf("sched:holidays-missing:%d/%s", year, p.ID), MissingHolidaysText(year)))
			}
		}
		if err = s.enqueue(ctx, outs, now); err == nil {
			s.log.Warn("holiday data missing for a year with occurrences; statutory holidays assumed", "year", year, "told", len(outs))
			return nil
		}
	}
	// Not told: give the claim back so a later tick tries again.
	if derr := s.st.DeleteDoc(ctx, CollMeta, doc); derr != nil {
		s.log.Warn("holiday warning claim not released", "year", year, "err", derr)
	}
	return store.ErrUnavailable(err)
}
