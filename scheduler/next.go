package scheduler

import "time"

// Next returns the first occurrence of rule strictly after after, in after's location, with
// an occurrence that falls on a statutory holiday moved to the next working day (at the same
// time of day). It returns the zero time when there is none (a one-off in the past). Next is
// pure.
func Next(rule Rule, after time.Time, cal Calendar) time.Time {
	at, _ := NextOccurrence(rule, after, cal)
	return at
}

// maxShift bounds how far a holiday can move an occurrence: the longest run of days off.
const maxShift = 31 * 24 * time.Hour

// NextOccurrence is Next, also returning the date the rule itself gave (natural): equal to
// at unless a holiday moved it.
//
// Moving keeps occurrences in order (a later natural date never moves before an earlier one),
// and occurrences that move onto the same time are one: a daily stand-up does not happen
// eight times on the first day after the National Day week.
func NextOccurrence(rule Rule, after time.Time, cal Calendar) (at, natural time.Time) {
	if rule.Freq == Workdays {
		t := naturalAfter(rule, after)
		for i := 0; i < 400 && !t.IsZero(); i++ {
			if IsWorkday(cal, t) {
				return t, t
			}
			t = naturalAfter(rule, t)
		}
		return time.Time{}, time.Time{}
	}
	c := naturalAfter(rule, after.Add(-maxShift))
	for i := 0; i < 2000 && !c.IsZero(); i++ {
		a := move(cal, c)
		if a.After(after) {
			natural = c
			// Later natural dates moved onto the same time: the one not moved names it.
			for n := naturalAfter(rule, c); !n.IsZero() && move(cal, n).Equal(a); n = naturalAfter(rule, n) {
				natural = n
			}
			return a, natural
		}
		c = naturalAfter(rule, c)
	}
	return time.Time{}, time.Time{}
}

// move moves t off a statutory holiday to the next working day.
func move(cal Calendar, t time.Time) time.Time {
	if _, hol := IsHoliday(cal, t); !hol {
		return t
	}
	return NextWorkday(cal, t)
}

// naturalAfter is the rule's first date strictly after t, ignoring holidays (and, for
// Workdays, ignoring whether the day is one).
func naturalAfter(r Rule, t time.Time) time.Time {
	loc := t.Location()
	y, m, d := t.Date()
	at := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, r.Hour, r.Minute, 0, 0, loc) }
	switch r.Freq {
	case Daily, Workdays:
		c := at(y, m, d)
		if !c.After(t) {
			c = at(y, m, d+1)
		}
		return c
	case Weekly:
		c := at(y, m, d+(int(r.Weekday)-int(t.Weekday())+7)%7)
		if !c.After(t) {
			c = c.AddDate(0, 0, 7)
		}
		return c
	case Monthly, Quarterly, Yearly:
		for i := 0; i < 12*12; i++ { // a 5th weekday or a yearly month is found within years
			mm := time.Month(int(m) + i)
			yy := y
			for mm > 12 {
				mm -= 12
				yy++
			}
			if !r.inMonth(mm) {
				continue
			}
			day, ok := r.dayIn(yy, mm)
			if !ok {
				continue
			}
			if c := at(yy, mm, day); c.After(t) {
				return c
			}
		}
		return time.Time{}
	case Once:
		if r.Year != 0 {
			if c := at(r.Year, time.Month(r.Month), r.Day); c.After(t) && c.Day() == r.Day {
				return c
			}
			return time.Time{}
		}
		for yy := y; yy < y+9; yy++ { // 2月29日 waits for a leap year
			if c := at(yy, time.Month(r.Month), r.Day); c.After(t) && c.Day() == r.Day {
				return c
			}
		}
	}
	return time.Time{}
}

func (r Rule) inMonth(m time.Month) bool {
	switch r.Freq {
	case Quarterly:
		return (int(m)-1)%3 == r.Month-1
	case Yearly:
		return int(m) == r.Month
	}
	return true
}

// dayIn is the rule's day in month m of year y; false when the month has none (a 5th Friday).
func (r Rule) dayIn(y int, m time.Month) (int, bool) {
	n := daysIn(y, m)
	switch {
	case r.Nth > 0:
		first := time.Date(y, m, 1, 0, 0, 0, 0, time.UTC).Weekday()
		d := 1 + (int(r.Weekday)-int(first)+7)%7 + 7*(r.Nth-1)
		return d, d <= n
	case r.Nth == -1:
		last := time.Date(y, m, n, 0, 0, 0, 0, time.UTC).Weekday()
		return n - (int(last)-int(r.Weekday)+7)%7, true
	case r.Day == -1:
		return n, true
	case r.Day > 0:
		return min(r.Day, n), true // 每月31日 is the last day of a short month
	}
	return 0, false
}

func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
