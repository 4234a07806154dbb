package scheduler

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/6tail/lunar-go/HolidayUtil"
	"github.com/6tail/lunar-go/calendar"
	"gopkg.in/yaml.v3"
)

// Day is what the calendar says about one date.
type Day struct {
	Holiday bool   // 法定节假日: a statutory day off
	Makeup  bool   // 调休: a weekend day that is a working day
	Name    string // the festival: 国庆节
}

// Calendar says what kind of day a date is. A nil Calendar knows no holidays.
type Calendar interface {
	Day(year int, month time.Month, day int) Day
}

// IsWorkday reports whether people work on t's date: a weekday that is not a holiday, or a
// 调休 make-up day.
func IsWorkday(cal Calendar, t time.Time) bool {
	var d Day
	if cal != nil {
		d = cal.Day(t.Date())
	}
	switch {
	case d.Holiday:
		return false
	case d.Makeup:
		return true
	}
	wd := t.Weekday()
	return wd != time.Saturday && wd != time.Sunday
}

// IsHoliday reports whether t's date is a statutory holiday.
func IsHoliday(cal Calendar, t time.Time) (string, bool) {
	if cal == nil {
		return "", false
	}
	d := cal.Day(t.Date())
	return d.Name, d.Holiday
}

// NextWorkday returns the first working day on or after t's date, at t's time of day.
func NextWorkday(cal Calendar, t time.Time) time.Time {
	for i := 0; i < 60; i++ { // the longest run of days off is well under two weeks
		if IsWorkday(cal, t) {
			return t
		}
		t = t.AddDate(0, 0, 1)
	}
	return t
}

// AddWorkdays returns t's time of day on the n-th working day after t's date.
func AddWorkdays(cal Calendar, t time.Time, n int) time.Time {
	for i := 0; n > 0 && i < 400; i++ {
		t = t.AddDate(0, 0, 1)
		if IsWorkday(cal, t) {
			n--
		}
	}
	return t
}

// Holidays is the Calendar of mainland China: github.com/6tail/lunar-go's statutory holidays
// and 调休 days (its data ends with the year it was released for), overridden and extended by
// the operator's file, because next year's dates are only published each November or
// December. For a year neither covers, the statutory holidays themselves (Statutory) are days
// off; its 调休 cannot be known before it is published. It is safe for concurrent use.
type Holidays struct {
	extra      map[int]Day  // yyyymmdd → day, from the operator's file; wins over the library
	extraYears map[int]bool // the years the file covers

	mu        sync.RWMutex
	cache     map[int]Day
	official  map[int]bool        // year → has published data (library or file)
	statutory map[int]map[int]Day // year → its computed statutory days, for years without data
}

// NewHolidays returns the library's calendar overridden by extra (keyed by yyyymmdd; a zero
// Day marks an ordinary day, cancelling the library's entry).
func NewHolidays(extra map[int]Day) *Holidays {
	if extra == nil {
		extra = map[int]Day{}
	}
	years := map[int]bool{}
	for k := range extra {
		years[k/10000] = true
	}
	return &Holidays{extra: extra, extraYears: years, cache: map[int]Day{}, official: map[int]bool{}, statutory: map[int]map[int]Day{}}
}

// Day implements Calendar.
func (h *Holidays) Day(year int, month time.Month, day int) Day {
	key := year*10000 + int(month)*100 + day
	if d, ok := h.extra[key]; ok {
		return d
	}
	h.mu.RLock()
	d, ok := h.cache[key]
	h.mu.RUnlock()
	if ok {
		return d
	}
	if hd := HolidayUtil.GetHolidayByYmd(year, int(month), day); hd != nil {
		d = Day{Holiday: !hd.IsWork(), Makeup: hd.IsWork(), Name: hd.GetName()}
	} else if !h.Official(year) {
		d = h.statutoryDays(year)[key]
	}
	h.mu.Lock()
	h.cache[key] = d
	h.mu.Unlock()
	return d
}

// Official reports whether year's holidays and 调休 days were published to the bot: the
// library has them or the operator's file lists days of that year. Without them Day knows
// only the statutory holidays (Statutory), not the year's bridges or make-up working days.
func (h *Holidays) Official(year int) bool {
	if h.extraYears[year] {
		return true
	}
	h.mu.RLock()
	o, ok := h.official[year]
	h.mu.RUnlock()
	if ok {
		return o
	}
	o = HolidayUtil.GetHolidaysByYear(year).Len() > 0
	h.mu.Lock()
	h.official[year] = o
	h.mu.Unlock()
	return o
}

func (h *Holidays) statutoryDays(year int) map[int]Day {
	h.mu.RLock()
	days, ok := h.statutory[year]
	h.mu.RUnlock()
	if ok {
		return days
	}
	days = map[int]Day{}
	for _, sd := range Statutory(year) {
		days[sd.Date.Year()*10000+int(sd.Date.Month())*100+sd.Date.Day()] = Day{Holiday: true, Name: sd.Name}
	}
	h.mu.Lock()
	h.statutory[year] = days
	h.mu.Unlock()
	return days
}

// StatutoryDay is one statutory day off.
type StatutoryDay struct {
	Date time.Time // midnight UTC of the day
	Name string    // 春节
}

// Statutory lists the statutory days off (法定节假日) of a year by the State Council's 全国年节
// 及纪念日放假办法 as revised in 2024 (国务院令第795号, in force from 2025): 元旦 1 January; 春节
// 除夕 to 正月初三 (4 days); 清明节 the day of the 清明 solar term; 劳动节 1–2 May; 端午节 五月初五;
// 中秋节 八月十五; 国庆节 1–3 October. Lunar dates and the solar term come from
// github.com/6tail/lunar-go. The 调休 that turn these into longer breaks are decided each year
// and are not here.
func Statutory(year int) []StatutoryDay {
	day := func(s *calendar.Solar) time.Time {
		return time.Date(s.GetYear(), time.Month(s.GetMonth()), s.GetDay(), 0, 0, 0, 0, time.UTC)
	}
	fixed := func(m time.Month, d int) time.Time { return time.Date(year, m, d, 0, 0, 0, 0, time.UTC) }
	var out []StatutoryDay
	add := func(name string, first time.Time, n int) {
		for i := 0; i < n; i++ {
			out = append(out, StatutoryDay{Date: first.AddDate(0, 0, i), Name: name})
		}
	}
	add("元旦节", fixed(time.January, 1), 1)
	add("春节", day(calendar.NewLunarFromYmd(year, 1, 1).GetSolar()).AddDate(0, 0, -1), 4) // 除夕 (the day before 正月初一) to 初三
	if qm, ok := calendar.NewSolarFromYmd(year, 4, 20).GetLunar().GetJieQiTable()["清明"]; ok && qm.GetYear() == year {
		add("清明节", day(qm), 1)
	}
	add("劳动节", fixed(time.May, 1), 2)
	add("端午节", day(calendar.NewLunarFromYmd(year, 5, 5).GetSolar()), 1)
	add("中秋节", day(calendar.NewLunarFromYmd(year, 8, 15).GetSolar()), 1)
	add("国庆节", fixed(time.October, 1), 3)
	return out
}

// HolidayFile is the operator's holiday data (HolidaysFile in the config), YAML or JSON:
//
//	holidays:
//	  - name: 春节
//	    off: ["2027-02-06..2027-02-13"]   # days off, single dates or inclusive ranges
//	    work: ["2027-02-14", "2027-02-20"] # 调休: weekend days that are working days
//	  - name: 更正
//	    normal: ["2026-10-10"]            # ordinary days after all (cancels the library)
type HolidayFile struct {
	Holidays []HolidayEntry `yaml:"holidays" json:"holidays"`
}

// HolidayEntry is one festival's days in a HolidayFile.
type HolidayEntry struct {
	Name   string   `yaml:"name" json:"name"`
	Off    []string `yaml:"off" json:"off"`
	Work   []string `yaml:"work" json:"work"`
	Normal []string `yaml:"normal" json:"normal"`
}

// LoadHolidays reads the operator's holiday file and returns the calendar it overrides. An
// empty path gives the library's calendar alone.
func LoadHolidays(path string) (*Holidays, error) {
	if path == "" {
		return NewHolidays(nil), nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("holidays file: %w", err)
	}
	extra, err := ParseHolidays(data)
	if err != nil {
		return nil, fmt.Errorf("holidays file %s: %w", path, err)
	}
	return NewHolidays(extra), nil
}

// ParseHolidays reads a HolidayFile (JSON is read as the YAML it also is) into days keyed by
// yyyymmdd. Errors name the entry: "holidays[1].off[0]: ...". Unknown keys are an error.
func ParseHolidays(data []byte) (map[int]Day, error) {
	var f HolidayFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	out := map[int]Day{}
	var errs []error
	for i, e := range f.Holidays {
		name := strings.TrimSpace(e.Name)
		for _, part := range []struct {
			key   string
			dates []string
			day   Day
		}{
			{"off", e.Off, Day{Holiday: true, Name: name}},
			{"work", e.Work, Day{Makeup: true, Name: name}},
			{"normal", e.Normal, Day{}},
		} {
			for j, s := range part.dates {
				days, err := dateRange(s)
				if err != nil {
					errs = append(errs, fmt.Errorf("holidays[%d].%s[%d]: %w", i, part.key, j, err))
					continue
				}
				for _, d := range days {
					if prev, dup := out[d]; dup && prev != part.day {
						errs = append(errs, fmt.Errorf("holidays[%d].%s[%d]: %d-%02d-%02d is listed twice with different meanings", i, part.key, j, d/10000, d/100%100, d%100))
					}
					out[d] = part.day
				}
			}
		}
	}
	return out, errors.Join(errs...)
}

// dateRange reads "2027-02-06" or "2027-02-06..2027-02-13" (also "~" or "至").
func dateRange(s string) ([]int, error) {
	s = strings.TrimSpace(s)
	from, to, isRange := s, s, false
	for _, sep := range []string{"..", "~", "至"} {
		if a, b, ok := strings.Cut(s, sep); ok {
			from, to, isRange = strings.TrimSpace(a), strings.TrimSpace(b), true
			break
		}
	}
	a, err := time.Parse(time.DateOnly, from)
	if err != nil {
		return nil, fmt.Errorf("%q is not a date like 2027-02-06", from)
	}
	b := a
	if isRange {
		if b, err = time.Parse(time.DateOnly, to); err != nil {
			return nil, fmt.Errorf("%q is not a date like 2027-02-13", to)
		}
	}
	if b.Before(a) || b.Sub(a) > 60*24*time.Hour {
		return nil, fmt.Errorf("range %q runs backwards or is longer than 60 days", s)
	}
	var out []int
	for d := a; !d.After(b); d = d.AddDate(0, 0, 1) {
		out = append(out, d.Year()*10000+int(d.Month())*100+d.Day())
	}
	return out, nil
}
