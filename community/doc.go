// Package community is neighborbot's domain: people and their roles, the organisation tree,
// groups bound to its nodes, and service items with the state machine of the 四单 loop
// (居民点单、支部下单、党员接单、对象回单). It does no I/O and reads no clock: callers pass
// the time in. Everything else in the project depends on it; it depends on nothing of ours.
package community
