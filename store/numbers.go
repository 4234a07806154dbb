package store

import (
	"context"
	"strconv"
)

// Kinds of things a number names besides items (NumberEntry.Kind).
const (
	KindItem     = "item"
	KindNotice   = "notice"
	KindPoll     = "poll"
	KindActivity = "activity"
)

// Numbers is the one number space of a deployment: items, notices, polls and activities
// created in chat take their numbers from one gapless sequence (the one CreateItem takes
// from), so a number people read on a card or type in a command (查看 12, 进度 12) names
// exactly one thing. Items need no index entry (GetItem finds them); every other number is
// recorded with what it names.
type Numbers interface {
	// TakeNumber takes the next number of the shared sequence for a thing of kind and records
	// the entry {no, kind, ref} in the index, atomically (across replicas). With ref not
	// empty it is idempotent: when kind and ref already have a number, that number comes back
	// and none is taken (a confirmation repeated by a platform retry or another replica gets
	// the same number). With ref empty every call takes a new number, and the entry's Ref is
	// empty: the thing's id is the number itself.
	TakeNumber(ctx context.Context, kind, ref string) (int64, error)
	// LookupNumber returns what number no names, or an error with code community.ENotFound
	// when no is not in the index (an item's number, or one not taken).
	LookupNumber(ctx context.Context, no int64) (NumberEntry, error)
	// NumberOf returns the number taken for kind and ref (community.ENotFound when none).
	NumberOf(ctx context.Context, kind, ref string) (int64, error)
}

// NumberEntry is what a number names: a thing of Kind whose id (in its feature's docs) is
// Ref, or the number itself when Ref is empty.
type NumberEntry struct {
	No   int64  `json:"no"`
	Kind string `json:"kind"`
	Ref  string `json:"ref,omitempty"`
}

// ID is the thing's id in its feature's docs: Ref, or the number when Ref is empty.
func (e NumberEntry) ID() string {
	if e.Ref != "" {
		return e.Ref
	}
	return strconv.FormatInt(e.No, 10)
}
