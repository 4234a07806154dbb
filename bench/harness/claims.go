package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/neighborbot/neighborbot/community"
	"github.com/neighborbot/neighborbot/store"
	"github.com/neighborbot/neighborbot/store/bolt"
	"github.com/neighborbot/neighborbot/store/redis"
)

// claimMembers is how many party members rush one one-slot item.
const claimMembers = 100

type claimResult struct {
	Backend  string
	Data     string // what the store held
	Rounds   int
	Attempts int
	Took     time.Duration
	Claim    Summary // one UpdateItem(claim), won or lost
	Round    Summary // one rush: from the start signal to the last answer
	Wrong    int     // rounds without exactly one winner
}

func (e *Env) claimRounds() int {
	if e.ClaimRounds > 0 {
		return e.ClaimRounds
	}
	if e.Quick {
		return 10
	}
	return 50
}

func runClaims(ctx context.Context, e *Env) ([]Section, error) {
	var rs []claimResult
	var errs []error
	add := func(r claimResult, err error) {
		if err != nil {
			errs = append(errs, fmt.Errorf("%s (%s): %w", r.Backend, r.Data, err))
		}
		if r.Rounds > 0 {
			rs = append(rs, r)
		}
	}

	// bbolt, fsync on (as the bot runs): an empty store, then the scale dataset.
	st, err := bolt.Open(filepath.Join(e.Work, "claims-empty", "neighborbot.db"), bolt.Options{})
	if err == nil {
		add(e.contestedClaims(ctx, st, "bbolt", "empty"))
		st.Close()
	} else {
		errs = append(errs, err)
	}
	if dir, stats, err := e.boltDataset(ctx); err == nil {
		st, err := bolt.Open(filepath.Join(dir, "neighborbot.db"), bolt.Options{})
		if err == nil {
			add(e.contestedClaims(ctx, st, "bbolt", fmt.Sprintf("%d items", stats.Items)))
			st.Close()
		} else {
			errs = append(errs, err)
		}
	} else {
		errs = append(errs, err)
	}
	if e.Redis {
		srv, err := startRedis(ctx, e, "claims")
		if err == nil {
			if st, err := redis.Open(ctx, srv.URL(), redis.Options{}); err == nil {
				add(e.contestedClaims(ctx, st, "Redis", "empty"))
				st.Close()
			} else {
				errs = append(errs, err)
			}
			srv.Stop()
		} else {
			errs = append(errs, err)
		}
		if srv, stats, err := e.redisDataset(ctx); err == nil {
			if st, err := redis.Open(ctx, srv.URL(), redis.Options{}); err == nil {
				add(e.contestedClaims(ctx, st, "Redis", fmt.Sprintf("%d items", stats.Items)))
				st.Close()
			} else {
				errs = append(errs, err)
			}
		} else {
			errs = append(errs, err)
		}
	}
	return []Section{{Name: "claims", Body: e.claimsReport(rs)}}, errors.Join(errs...)
}

// contestedClaims runs rounds of one 接单 rush each: a fresh one-slot item, then 100 members
// released at once to claim it through UpdateItem with the domain's own Apply. Exactly one
// may win; the others get a conflict.
func (e *Env) contestedClaims(ctx context.Context, st store.Store, backend, data string) (claimResult, error) {
	res := claimResult{Backend: backend, Data: data}
	e.Log.Info("claims", "backend", backend, "data", data)
	sec := community.Actor{ID: "local:wang", Name: "王书记", Role: community.RoleSecretary}
	group := community.Group{ID: "local:xingfuli", Platform: "local", Chat: "xingfuli", Node: "grid1"}
	actors := make([]community.Actor, claimMembers)
	for i := range actors {
		actors[i] = community.Actor{ID: fmt.Sprintf("local:claimer%03d", i), Name: fmt.Sprintf("党员%03d", i), Role: community.RoleMember}
	}
	var claims, rounds Recorder
	var total time.Duration
	var firstErr error
	for range e.claimRounds() {
		if ctx.Err() != nil {
			break
		}
		now := time.Now()
		it, err := st.CreateItem(ctx, func(no int64) (*community.Item, error) {
			return community.NewPost(no, group, sec, "周六上午帮忙搬运物资", 1, now.Add(48*time.Hour), now)
		})
		if err != nil {
			return res, err
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins := 0
		go1 := make(chan struct{})
		for _, a := range actors {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-go1
				t0 := time.Now()
				_, err := st.UpdateItem(ctx, it.No, func(it *community.Item) error {
					return it.Apply(community.Change{Action: community.ActClaim, Actor: a, At: now})
				})
				claims.Add(time.Since(t0))
				mu.Lock()
				defer mu.Unlock()
				switch community.ErrorCode(err) {
				case "":
					wins++
				case community.EConflict:
				default:
					if firstErr == nil {
						firstErr = err
					}
				}
			}()
		}
		t0 := time.Now()
		close(go1)
		wg.Wait()
		d := time.Since(t0)
		rounds.Add(d)
		total += d
		res.Rounds++
		res.Attempts += claimMembers
		if wins != 1 {
			res.Wrong++
		}
		if firstErr != nil {
			return res, firstErr
		}
		got, err := st.GetItem(ctx, it.No)
		if err != nil {
			return res, err
		}
		if got.State != community.StateClaimed || len(got.Claims) != 1 {
			res.Wrong++
		}
	}
	res.Took, res.Claim, res.Round = total, claims.Summary(), rounds.Summary()
	return res, nil
}

func (e *Env) claimsReport(rs []claimResult) string {
	var b strings.Builder
	b.WriteString(e.header("Claims: 100 members rushing one slot"))
	b.WriteString("\nEach round posts a one-slot item and releases 100 goroutines at once, each claiming it through " +
		"`store.UpdateItem` with the domain's `Item.Apply` (the path 接单 takes). One must win and 99 get a conflict; " +
		"the harness checks it every round. bbolt runs with fsync on, as the bot does; Redis on a local redis-server " +
		"without persistence. The Go benchmarks `BenchmarkContestedClaim` in store/bolt and store/redis measure the same rush.\n\n")
	t := Table{Head: []string{"backend", "store holds", "rounds", "claims/s", "rushes/s", "claim p50 / p99 / max", "rush p50 / p99", "rounds without exactly one winner"}}
	for _, r := range rs {
		t.Row(r.Backend, r.Data, fmt.Sprint(r.Rounds),
			fmt.Sprintf("%.0f", float64(r.Attempts)/r.Took.Seconds()),
			fmt.Sprintf("%.1f", float64(r.Rounds)/r.Took.Seconds()),
			fmt.Sprintf("%s / %s / %s ms", ms(r.Claim.P50), ms(r.Claim.P99), ms(r.Claim.Max)),
			fmt.Sprintf("%s / %s ms", ms(r.Round.P50), ms(r.Round.P99)),
			fmt.Sprintf("%d %s", r.Wrong, verdict(r.Wrong == 0)))
	}
	b.WriteString(t.String())
	return b.String()
}
