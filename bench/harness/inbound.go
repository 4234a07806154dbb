package main

import "context"

func runInbound(ctx context.Context, e *Env) ([]Section, error) { return nil, nil }

func runFaults(ctx context.Context, e *Env) ([]Section, error) { return nil, nil }
