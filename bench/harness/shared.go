package main

import (
	"context"
	"os"
	"path/filepath"
	"time"

	"github.com/neighborbot/neighborbot/store/bolt"
	"github.com/neighborbot/neighborbot/store/redis"
)

// boltDataset builds the scale dataset in a bbolt file once per run and returns its
// directory (NEIGHBORBOT_DATA) and stats. Scenarios use it in turn, never at once.
func (e *Env) boltDataset(ctx context.Context) (string, datasetStats, error) {
	if e.boltDS != "" {
		return e.boltDS, e.boltStats, nil
	}
	dir := filepath.Join(e.Work, "data-bolt")
	path := filepath.Join(dir, "neighborbot.db")
	// Written without fsync: it is setup, not what is measured.
	st, err := bolt.Open(path, bolt.Options{NoSync: true})
	if err != nil {
		return "", datasetStats{}, err
	}
	e.Log.Info("building dataset", "backend", "bbolt", "items", e.Items, "members", e.Members)
	stats, err := buildDataset(ctx, st, e.Items, e.Members, 2)
	if err == nil {
		stats.CaughtUp, err = catchUp(ctx, st)
	}
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", stats, err
	}
	e.Log.Info("dataset built", "backend", "bbolt", "took", stats.Took.Round(time.Millisecond), "open", stats.Open, "scheduler_messages", stats.CaughtUp)
	e.boltDS, e.boltStats = dir, stats
	return dir, stats, nil
}

// redisDataset starts a redis-server for the rest of the run and builds the scale dataset in
// it once.
func (e *Env) redisDataset(ctx context.Context) (*redisServer, datasetStats, error) {
	if e.redisDS != nil {
		return e.redisDS, e.redisStats, nil
	}
	srv, err := startRedis(ctx, e, "dataset")
	if err != nil {
		return nil, datasetStats{}, err
	}
	st, err := redis.Open(ctx, srv.URL(), redis.Options{})
	if err != nil {
		srv.Stop()
		return nil, datasetStats{}, err
	}
	defer st.Close()
	e.Log.Info("building dataset", "backend", "redis", "items", e.Items, "members", e.Members)
	stats, err := buildDataset(ctx, st, e.Items, e.Members, 16)
	if err == nil {
		stats.CaughtUp, err = catchUp(ctx, st)
	}
	if err != nil {
		srv.Stop()
		return nil, stats, err
	}
	e.Log.Info("dataset built", "backend", "redis", "took", stats.Took.Round(time.Millisecond), "open", stats.Open, "scheduler_messages", stats.CaughtUp)
	e.redisDS, e.redisStats = srv, stats
	e.cleanups = append(e.cleanups, srv.Stop)
	return srv, stats, nil
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}
