package redis

import "github.com/redis/go-redis/v9"

// Every Lua script the store runs. Each touches only keys of one hashtag (keys.go), so it
// runs on Redis Cluster; keys a script finds at run time (an entry named by an index) are
// built from a prefix passed in ARGV that carries the same tag. Times arrive from Go already
// encoded: tkeys (16 hex digits, compared as strings) for ordering, RFC 3339 text for storage.
// Scripts never read the server's clock: the store's clock is the caller's.
//
// Results are small integers unless noted: 1 done, 0 conflict (try again), -1 not found.

// createItem saves a new item if the number counter still holds what the caller read,
// unless an item was created from the same source event before.
//
//	KEYS[1]    {P:items}:seq
//	KEYS[2]    {P:items}:i:<no>
//	KEYS[3]    {P:items}:src
//	KEYS[4]    {P:items}:due
//	KEYS[5]    {P:items}:os
//	KEYS[6..]  index zsets the item belongs to
//	ARGV[1]    the counter as read ("0" when absent)
//	ARGV[2]    no (= ARGV[1]+1)
//	ARGV[3]    the item's JSON
//	ARGV[4]    its version
//	ARGV[5]    its source event ("" for none)
//	ARGV[6]    its group, ARGV[7] its state (kept beside the JSON for listItems)
//	ARGV[8]    its score in {P:items}:due ("" for none: not open or no deadline)
//	ARGV[9]    its value in {P:items}:os, "<state>|<group>" ("" for none: not open)
//
// Result: 1 saved, 0 conflict, or minus the number of the item the source created before.
var createItem = redis.NewScript(`
if ARGV[5] ~= '' then
  local no = redis.call('HGET', KEYS[3], ARGV[5])
  if no then return -tonumber(no) end
end
local cur = redis.call('GET', KEYS[1]) or '0'
if cur ~= ARGV[1] then return 0 end
if redis.call('EXISTS', KEYS[2]) == 1 then
  return redis.error_reply('item ' .. ARGV[2] .. ' exists but the counter is ' .. cur)
end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('HSET', KEYS[2], 'j', ARGV[3], 'v', ARGV[4], 'g', ARGV[6], 's', ARGV[7])
if ARGV[5] ~= '' then redis.call('HSET', KEYS[3], ARGV[5], ARGV[2]) end
if ARGV[8] ~= '' then redis.call('ZADD', KEYS[4], ARGV[8], ARGV[2]) end
if ARGV[9] ~= '' then redis.call('HSET', KEYS[5], ARGV[2], ARGV[9]) end
for i = 6, #KEYS do redis.call('ZADD', KEYS[i], ARGV[2], ARGV[2]) end
return 1
`)

// updateItem replaces an item if its version is still the one the caller read, and moves
// its index entries.
//
//	KEYS[1]    {P:items}:i:<no>
//	KEYS[2]    {P:items}:due
//	KEYS[3]    {P:items}:os
//	KEYS[4..]  ARGV[5] index zsets to leave, then index zsets to join
//	ARGV[1]    version as read
//	ARGV[2]    new version
//	ARGV[3]    new JSON
//	ARGV[4]    no (index member and score)
//	ARGV[5]    how many of KEYS[4..] to leave
//	ARGV[6]    group, ARGV[7] state
//	ARGV[8]    score in {P:items}:due ("" to leave it)
//	ARGV[9]    value in {P:items}:os ("" to leave it)
var updateItem = redis.NewScript(`
local v = redis.call('HGET', KEYS[1], 'v')
if not v then return -1 end
if v ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'j', ARGV[3], 'v', ARGV[2], 'g', ARGV[6], 's', ARGV[7])
local leave = tonumber(ARGV[5])
for i = 4, 3 + leave do redis.call('ZREM', KEYS[i], ARGV[4]) end
for i = 4 + leave, #KEYS do redis.call('ZADD', KEYS[i], ARGV[4], ARGV[4]) end
if ARGV[8] == '' then redis.call('ZREM', KEYS[2], ARGV[4]) else redis.call('ZADD', KEYS[2], ARGV[8], ARGV[4]) end
if ARGV[9] == '' then redis.call('HDEL', KEYS[3], ARGV[4]) else redis.call('HSET', KEYS[3], ARGV[4], ARGV[9]) end
return 1
`)

// restoreItem saves an item as it is (import), replacing any item of that number, and
// raises the counter to at least its number.
//
//	KEYS[1]    {P:items}:seq
//	KEYS[2]    {P:items}:src
//	KEYS[3..]  like updateItem's KEYS (item, due, os, then ARGV[4] zsets to leave, then zsets
//	           to join)
//	ARGV[1]    no
//	ARGV[2]    JSON
//	ARGV[3]    version
//	ARGV[4]    how many zsets to leave
//	ARGV[5]    its source event ("" for none)
//	ARGV[6]    group, ARGV[7] state
//	ARGV[8]    score in {P:items}:due ("" for none)
//	ARGV[9]    value in {P:items}:os ("" for none)
var restoreItem = redis.NewScript(`
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if cur < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end
redis.call('HSET', KEYS[3], 'j', ARGV[2], 'v', ARGV[3], 'g', ARGV[6], 's', ARGV[7])
if ARGV[5] ~= '' then redis.call('HSET', KEYS[2], ARGV[5], ARGV[1]) end
local leave = tonumber(ARGV[4])
for i = 6, 5 + leave do redis.call('ZREM', KEYS[i], ARGV[1]) end
for i = 6 + leave, #KEYS do redis.call('ZADD', KEYS[i], ARGV[1], ARGV[1]) end
if ARGV[8] == '' then redis.call('ZREM', KEYS[4], ARGV[1]) else redis.call('ZADD', KEYS[4], ARGV[8], ARGV[1]) end
if ARGV[9] == '' then redis.call('HDEL', KEYS[5], ARGV[1]) else redis.call('HSET', KEYS[5], ARGV[1], ARGV[9]) end
return 1
`)

// raiseSeq raises the item counter to at least ARGV[1] (import).
//
//	KEYS[1]  {P:items}:seq
var raiseSeq = redis.NewScript(`
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if cur < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end
return 1
`)

// listItems returns the JSON of the items that meet every condition, highest number first,
// at most ARGV[1] of them (0: all), all under one snapshot; or, with ARGV[1] -1, counts them
// by state instead (reading only their s fields). A condition is "in any of these index
// zsets". It walks the condition with the fewest members (a union: all its members,
// sorted) and checks the others per item: a one-zset condition by ZSCORE, a condition on
// the group or the state by the item's own g or s field, so "any of 200 groups" costs one
// lookup, not 200. A "d" condition is {P:items}:due up to a score (deadline in ms); with
// ARGV[3] "1" it is the one walked, in score order (equal scores by number), for
// ByDeadline.
//
//	KEYS       the conditions' zsets, condition after condition
//	ARGV[1]    limit, or -1 to count
//	ARGV[2]    item key prefix, {P:items}:i:
//	ARGV[3]    "1" to walk the "d" condition by score, "0" for newest first
//	ARGV[4..]  per condition: n (its zsets), then the field ("g", "s", "d" or "-" for none)
//	           its zsets stand for, then, with "g" or "s", the n values they stand for, with
//	           "d" the highest score ("+inf" for any)
//
// Result: array of JSON strings; counting, state, count, state, count...
var listItems = redis.NewScript(`
local limit, pre, bydl = tonumber(ARGV[1]), ARGV[2], ARGV[3] == '1'
local conds, k, a = {}, 1, 4
local d, dd = 1, nil
while a <= #ARGV do
  local n, field = tonumber(ARGV[a]), ARGV[a + 1]
  a = a + 2
  local c = {keys = {}, card = 0}
  for j = 1, n do
    c.keys[j] = KEYS[k]
    k = k + 1
  end
  if field == 'd' then
    c.due, c.max = true, ARGV[a]
    c.maxn = (c.max == '+inf') and math.huge or tonumber(c.max)
    a = a + 1
    c.card = redis.call('ZCOUNT', c.keys[1], '-inf', c.max)
    dd = #conds + 1
  else
    for j = 1, n do c.card = c.card + redis.call('ZCARD', c.keys[j]) end
    if field ~= '-' then
      c.field, c.values = field, {}
      for j = 1, n do c.values[ARGV[a + j - 1]] = true end
      a = a + n
    end
  end
  conds[#conds + 1] = c
end
for i = 2, #conds do
  if conds[i].card < conds[d].card then d = i end
end
if bydl and dd then d = dd end
local function meets(n)
  local key = pre .. n
  for i, c in ipairs(conds) do
    if i ~= d then
      if c.due then
        local sc = redis.call('ZSCORE', c.keys[1], n)
        if not sc or tonumber(sc) > c.maxn then return false end
      elseif c.field then
        local v = redis.call('HGET', key, c.field)
        if not v or not c.values[v] then return false end
      else
        local found = false
        for _, z in ipairs(c.keys) do
          if redis.call('ZSCORE', z, n) then found = true break end
        end
        if not found then return false end
      end
    end
  end
  return true
end
local out, counts = {}, {}
local function emit(n)
  if meets(n) then
    if limit < 0 then
      local s = redis.call('HGET', pre .. n, 's')
      if s then counts[s] = (counts[s] or 0) + 1 end
      return true
    end
    local j = redis.call('HGET', pre .. n, 'j')
    if j then out[#out + 1] = j end
  end
  return limit <= 0 or #out < limit
end
local function result()
  if limit >= 0 then return out end
  for s, c in pairs(counts) do
    out[#out + 1] = s
    out[#out + 1] = c
  end
  return out
end
local dc = conds[d]
local dk = dc.keys
if dc.due and (bydl or limit < 0) then
  local run, runScore, from, page = {}, nil, 0, 256
  local function flush()
    table.sort(run)
    for _, n in ipairs(run) do
      if not emit(string.format('%d', n)) then return false end
    end
    run = {}
    return true
  end
  while true do
    local r = redis.call('ZRANGEBYSCORE', dk[1], '-inf', dc.max, 'WITHSCORES', 'LIMIT', from, page)
    for i = 1, #r, 2 do
      if r[i + 1] ~= runScore then
        if not flush() then return result() end
        runScore = r[i + 1]
      end
      run[#run + 1] = tonumber(r[i])
    end
    if #r < 2 * page then
      flush()
      return result()
    end
    from = from + page
  end
end
if #dk == 1 and not dc.due then
  local from, page = 0, 256
  while true do
    local ns = redis.call('ZREVRANGE', dk[1], from, from + page - 1)
    for _, n in ipairs(ns) do
      if not emit(n) then return result() end
    end
    if #ns < page then return result() end
    from = from + page
  end
end
local seen, all = {}, {}
for _, key in ipairs(dk) do
  local ns
  if dc.due then
    ns = redis.call('ZRANGEBYSCORE', key, '-inf', dc.max)
  else
    ns = redis.call('ZRANGE', key, 0, -1)
  end
  for _, n in ipairs(ns) do
    if not seen[n] then seen[n] = true all[#all + 1] = tonumber(n) end
  end
end
if limit >= 0 then table.sort(all, function(x, y) return x > y end) end
for _, n in ipairs(all) do
  if not emit(string.format('%d', n)) then return result() end
end
return result()
`)

// countOpen counts open items by state from {P:items}:os, without a call per item: all of
// them (HVALS), or those in {P:items}:due up to a score (one HMGET per page).
//
//	KEYS[1]    {P:items}:os
//	KEYS[2]    {P:items}:due
//	ARGV[1]    the highest deadline score, "" to count every open item
//	ARGV[2]    n, then n groups (none: any)
//	ARGV[..]   m, then m states (none: any)
//
// Result: state, count, state, count...
var countOpen = redis.NewScript(`
local a = 2
local function set()
  local n = tonumber(ARGV[a])
  a = a + 1
  if n == 0 then return nil end
  local t = {}
  for _ = 1, n do
    t[ARGV[a]] = true
    a = a + 1
  end
  return t
end
local groups = set()
local states = set()
local counts = {}
local function tally(v)
  if not v then return end
  local i = string.find(v, '|', 1, true)
  if not i then return end
  local st = string.sub(v, 1, i - 1)
  if (not states or states[st]) and (not groups or groups[string.sub(v, i + 1)]) then
    counts[st] = (counts[st] or 0) + 1
  end
end
if ARGV[1] == '' then
  for _, v in ipairs(redis.call('HVALS', KEYS[1])) do tally(v) end
else
  local from, page = 0, 1000
  while true do
    local ns = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', from, page)
    if #ns > 0 then
      for _, v in ipairs(redis.call('HMGET', KEYS[1], unpack(ns))) do tally(v) end
    end
    if #ns < page then break end
    from = from + page
  end
end
local out = {}
for st, c in pairs(counts) do
  out[#out + 1] = st
  out[#out + 1] = c
end
return out
`)

// casField sets or deletes one hash field if it still holds what the caller read, and keeps
// an optional id zset in step (docs).
//
//	KEYS[1]  the hash
//	KEYS[2]  optional: zset of the hash's fields, scored 0
//	ARGV[1]  field
//	ARGV[2]  "1" if the field was present when read, "0" if absent
//	ARGV[3]  the value read
//	ARGV[4]  "1" to set, "0" to delete
//	ARGV[5]  the new value
var casField = redis.NewScript(`
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if ARGV[2] == '1' then
  if cur ~= ARGV[3] then return 0 end
elseif cur then
  return 0
end
if ARGV[4] == '1' then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[5])
  if KEYS[2] then redis.call('ZADD', KEYS[2], 0, ARGV[1]) end
else
  redis.call('HDEL', KEYS[1], ARGV[1])
  if KEYS[2] then redis.call('ZREM', KEYS[2], ARGV[1]) end
end
return 1
`)

// putDoc sets (ARGV[2] = "1") or deletes (ARGV[2] = "0") a doc.
//
//	KEYS[1]  {P:docs:<coll>}:v
//	KEYS[2]  {P:docs:<coll>}:i
//	ARGV[1]  id
//	ARGV[2]  "1" set, "0" delete
//	ARGV[3]  value
var putDoc = redis.NewScript(`
if ARGV[2] == '1' then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
  redis.call('ZADD', KEYS[2], 0, ARGV[1])
else
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
end
return 1
`)

// listDocs returns id, value, id, value... of the docs whose ids lie in a lex range.
//
//	KEYS[1]  {P:docs:<coll>}:v
//	KEYS[2]  {P:docs:<coll>}:i
//	ARGV[1]  ZRANGEBYLEX min
//	ARGV[2]  ZRANGEBYLEX max
var listDocs = redis.NewScript(`
local ids = redis.call('ZRANGEBYLEX', KEYS[2], ARGV[1], ARGV[2])
local out = {}
for _, id in ipairs(ids) do
  local v = redis.call('HGET', KEYS[1], id)
  if v then
    out[#out + 1] = id
    out[#out + 1] = v
  end
end
return out
`)

// once records a key until an expiry unless it is recorded with a later expiry than now:
// SET NX PX, with the expiry read through the store's clock rather than the server's (the
// PX ttl only lets Redis drop the key eventually).
//
//	KEYS[1]  P:once:<key>
//	ARGV[1]  tkey(now)
//	ARGV[2]  tkey(now+ttl)
//	ARGV[3]  ttl in ms (≥ 1)
//
// Result: 1 first time, 0 seen.
var once = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v and v > ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
`)

// putInbound records new inbound events, after purging up to ARGV[4] handled ids whose
// retention ended. An event is new if its id is unknown, or handled and forgotten. A new
// event given a lease owner is recorded leased (att 1) and filed under its lease's end.
//
//	KEYS[1]    {P:inbox}:due
//	KEYS[2]    {P:inbox}:exp
//	ARGV[1]    entry key prefix, {P:inbox}:e:
//	ARGV[2]    tkey(now)
//	ARGV[3]    now as text (Received)
//	ARGV[4]    purge budget
//	ARGV[5]    ZRANGEBYLEX max selecting tkeys ≤ now
//	ARGV[6..]  per event 5 values: id, payload, lease owner, lease end as text, tkey(lease end);
//	           the last three empty for an event recorded unleased (due now)
//
// Result: array of 1 (new) / 0 (seen), one per event.
var putInbound = redis.NewScript(`
local pre, now = ARGV[1], ARGV[2]
local old = redis.call('ZRANGEBYLEX', KEYS[2], '-', ARGV[5], 'LIMIT', 0, tonumber(ARGV[4]))
for _, m in ipairs(old) do
  redis.call('ZREM', KEYS[2], m)
  local k = pre .. string.sub(m, 17)
  if redis.call('HGET', k, 'em') == m then redis.call('DEL', k) end
end
local out = {}
for i = 6, #ARGV, 5 do
  local id = ARGV[i]
  local k = pre .. id
  local fresh = 1
  if redis.call('EXISTS', k) == 1 then
    local em = redis.call('HGET', k, 'em')
    if not em or string.sub(em, 1, 16) > now then
      fresh = 0
    else
      redis.call('ZREM', KEYS[2], em)
      redis.call('DEL', k)
    end
  end
  if fresh == 1 then
    local own = ARGV[i + 2]
    if own == '' then
      local dm = now .. id
      redis.call('HSET', k, 'p', ARGV[i + 1], 'recv', ARGV[3], 'att', 0, 'dm', dm)
      redis.call('ZADD', KEYS[1], 0, dm)
    else
      local dm = ARGV[i + 4] .. id
      redis.call('HSET', k, 'p', ARGV[i + 1], 'recv', ARGV[3], 'att', 1, 'own', own, 'until', ARGV[i + 3], 'dm', dm)
      redis.call('ZADD', KEYS[1], 0, dm)
    end
  end
  out[#out + 1] = fresh
end
return out
`)

// leaseInbound hands up to ARGV[3] events due by now to an owner and files each again under
// its lease's end.
//
//	KEYS[1]  {P:inbox}:due
//	ARGV[1]  entry key prefix
//	ARGV[2]  ZRANGEBYLEX max selecting tkeys ≤ now
//	ARGV[3]  max
//	ARGV[4]  owner
//	ARGV[5]  lease end as text
//	ARGV[6]  tkey(lease end)
//
// Result: array of {id, payload, received, attempts}.
var leaseInbound = redis.NewScript(`
local ms = redis.call('ZRANGEBYLEX', KEYS[1], '-', ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, m in ipairs(ms) do
  redis.call('ZREM', KEYS[1], m)
  local id = string.sub(m, 17)
  local k = ARGV[1] .. id
  if redis.call('EXISTS', k) == 1 then
    local dm = ARGV[6] .. id
    local att = redis.call('HINCRBY', k, 'att', 1)
    redis.call('HSET', k, 'own', ARGV[4], 'until', ARGV[5], 'dm', dm)
    redis.call('ZADD', KEYS[1], 0, dm)
    local h = redis.call('HMGET', k, 'p', 'recv')
    out[#out + 1] = {id, h[1] or '', h[2] or '', att}
  end
end
return out
`)

// ackInbound marks an event handled: it drops the payload and the lease and keeps the id
// until its retention ends. Acknowledging twice does nothing more.
//
//	KEYS[1]  {P:inbox}:due
//	KEYS[2]  {P:inbox}:exp
//	KEYS[3]  {P:inbox}:e:<id>
//	ARGV[1]  now as text (handled)
//	ARGV[2]  tkey(forget)+id
//	ARGV[3]  forget as text
//	ARGV[4]  retention in ms, for the key's own expiry
var ackInbound = redis.NewScript(`
if redis.call('EXISTS', KEYS[3]) == 0 then return -1 end
if redis.call('HEXISTS', KEYS[3], 'em') == 1 then return 1 end
local dm = redis.call('HGET', KEYS[3], 'dm')
if dm then redis.call('ZREM', KEYS[1], dm) end
redis.call('HDEL', KEYS[3], 'p', 'own', 'until', 'dm')
redis.call('HSET', KEYS[3], 'done', ARGV[1], 'forget', ARGV[3], 'em', ARGV[2])
redis.call('ZADD', KEYS[2], 0, ARGV[2])
redis.call('PEXPIRE', KEYS[3], ARGV[4])
return 1
`)

// restoreInbound saves an inbound event as it is (import) unless its id is known.
//
//	KEYS[1]  {P:inbox}:due
//	KEYS[2]  {P:inbox}:exp
//	KEYS[3]  {P:inbox}:e:<id>
//	ARGV[1]  "due" or "exp": which zset the member goes in
//	ARGV[2]  the member (tkey+id)
//	ARGV[3]  retention left in ms for a handled event, "0" for none
//	ARGV[4..] field, value... for the hash
var restoreInbound = redis.NewScript(`
if redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
local f = {}
for i = 4, #ARGV do f[#f + 1] = ARGV[i] end
redis.call('HSET', KEYS[3], unpack(f))
if ARGV[1] == 'due' then
  redis.call('ZADD', KEYS[1], 0, ARGV[2])
else
  redis.call('ZADD', KEYS[2], 0, ARGV[2])
  if tonumber(ARGV[3]) > 0 then redis.call('PEXPIRE', KEYS[3], ARGV[3]) end
end
return 1
`)

// enqueue adds outbox entries whose ids are new, pending, counted in the stats.
//
//	KEYS[1]    {P:outbox}:wait
//	KEYS[2]    {P:outbox}:seq
//	KEYS[3]    {P:outbox}:stats
//	KEYS[4]    {P:outbox}:ids
//	ARGV[1]    entry key prefix, {P:outbox}:e:
//	ARGV[2..]  per entry 9 values: id, platform, chat, batch, payload, created (text),
//	           tkey(created), not-before (text), tkey(not-before)
var enqueue = redis.NewScript(`
for a = 2, #ARGV, 9 do
  local id, batch = ARGV[a], ARGV[a + 3]
  local k = ARGV[1] .. id
  if redis.call('EXISTS', k) == 0 then
    local seq = redis.call('INCR', KEYS[2])
    local rk = ARGV[a + 6] .. string.format('%016x', seq) .. id
    local wm = ARGV[a + 8] .. id
    redis.call('HSET', k, 'id', id, 'plat', ARGV[a + 1], 'chat', ARGV[a + 2], 'batch', batch,
      'p', ARGV[a + 4], 'st', 'pending', 'att', 0, 'created', ARGV[a + 5], 'nb', ARGV[a + 7],
      'seq', seq, 'rk', rk, 'wm', wm)
    redis.call('ZADD', KEYS[1], 0, wm)
    redis.call('ZADD', KEYS[4], seq, id)
    redis.call('HINCRBY', KEYS[3], 'pending*', 1)
    if batch ~= '' then redis.call('HINCRBY', KEYS[3], 'pending|' .. batch, 1) end
  end
end
return 1
`)

// restoreOutbox saves an outbox entry as it is (import) unless its id is known: status,
// attempts and lease kept, queued if pending, counted in the stats.
//
//	KEYS       like enqueue's
//	ARGV[1]    entry key prefix
//	ARGV[2]    id
//	ARGV[3]    batch
//	ARGV[4]    status
//	ARGV[5]    tkey(created)
//	ARGV[6]    tkey(due): max(not-before, lease end)
//	ARGV[7..]  field, value... for the hash (without seq, rk, wm)
var restoreOutbox = redis.NewScript(`
local id, batch, st = ARGV[2], ARGV[3], ARGV[4]
local k = ARGV[1] .. id
if redis.call('EXISTS', k) == 1 then return 0 end
local seq = redis.call('INCR', KEYS[2])
local f = {}
for i = 7, #ARGV do f[#f + 1] = ARGV[i] end
redis.call('HSET', k, unpack(f))
redis.call('HSET', k, 'seq', seq, 'rk', ARGV[5] .. string.format('%016x', seq) .. id)
if st == 'pending' then
  local wm = ARGV[6] .. id
  redis.call('HSET', k, 'wm', wm)
  redis.call('ZADD', KEYS[1], 0, wm)
end
redis.call('ZADD', KEYS[4], seq, id)
redis.call('HINCRBY', KEYS[3], st .. '*', 1)
if batch ~= '' then redis.call('HINCRBY', KEYS[3], st .. '|' .. batch, 1) end
return 1
`)

// leaseOutbox moves pending entries that came due from wait to ready, then hands the oldest
// up to ARGV[4] of ready to an owner, filing each in wait under its lease's end. An entry in
// ready whose due time is after now (a caller whose clock lags) is skipped.
//
//	KEYS[1]  {P:outbox}:wait
//	KEYS[2]  {P:outbox}:ready
//	ARGV[1]  entry key prefix
//	ARGV[2]  ZRANGEBYLEX max selecting tkeys ≤ now
//	ARGV[3]  tkey(now)
//	ARGV[4]  max
//	ARGV[5]  owner
//	ARGV[6]  lease end as text
//	ARGV[7]  tkey(lease end)
//
// Result: array of HGETALL replies, one per leased entry.
var leaseOutbox = redis.NewScript(`
local pre = ARGV[1]
for _, m in ipairs(redis.call('ZRANGEBYLEX', KEYS[1], '-', ARGV[2])) do
  redis.call('ZREM', KEYS[1], m)
  local rk = redis.call('HGET', pre .. string.sub(m, 17), 'rk')
  if rk then redis.call('ZADD', KEYS[2], 0, rk) end
end
local max = tonumber(ARGV[4])
local take, drop = {}, {}
local from, page = 0, math.max(max, 16)
while #take < max do
  local rks = redis.call('ZRANGE', KEYS[2], from, from + page - 1)
  for _, rk in ipairs(rks) do
    local id = string.sub(rk, 33)
    local wm = redis.call('HGET', pre .. id, 'wm')
    if not wm then
      drop[#drop + 1] = rk -- finished or gone: nothing to hand out
    elseif string.sub(wm, 1, 16) <= ARGV[3] then
      take[#take + 1] = {rk, id}
      if #take == max then break end
    end
  end
  if #rks < page then break end
  from = from + page
end
for _, rk in ipairs(drop) do redis.call('ZREM', KEYS[2], rk) end
local out = {}
for _, t in ipairs(take) do
  local k, wm = pre .. t[2], ARGV[7] .. t[2]
  redis.call('ZREM', KEYS[2], t[1])
  redis.call('HSET', k, 'own', ARGV[5], 'until', ARGV[6], 'wm', wm)
  redis.call('ZADD', KEYS[1], 0, wm)
  out[#out + 1] = redis.call('HGETALL', k)
end
return out
`)

// finishOutbox completes, releases or fails an entry leased to ARGV[1].
//
//	KEYS[1]  {P:outbox}:wait
//	KEYS[2]  {P:outbox}:ready
//	KEYS[3]  {P:outbox}:stats
//	KEYS[4]  {P:outbox}:e:<id>
//	ARGV[1]  owner
//	ARGV[2]  "complete": ARGV[3] result, ARGV[4] sent-at text
//	         "release":  ARGV[3] not-before text, ARGV[4] tkey(not-before), ARGV[5] error
//	                     text ("" keeps the last), ARGV[6] "1" if the try counts
//	         "fail":     ARGV[3] error text
//
// Result: {1} done, {-1} not found, {0, status} not this owner's.
var finishOutbox = redis.NewScript(`
local k = KEYS[4]
if redis.call('EXISTS', k) == 0 then return {-1} end
local h = redis.call('HMGET', k, 'st', 'own', 'wm', 'rk', 'batch', 'id')
if h[1] ~= 'pending' or h[2] ~= ARGV[1] or ARGV[1] == '' then return {0, h[1] or ''} end
if h[3] then redis.call('ZREM', KEYS[1], h[3]) end
if h[4] then redis.call('ZREM', KEYS[2], h[4]) end
local to = 'pending'
if ARGV[2] == 'complete' then
  to = 'sent'
  redis.call('HSET', k, 'st', to, 'res', ARGV[3], 'sent', ARGV[4], 'until', '')
  redis.call('HDEL', k, 'wm')
elseif ARGV[2] == 'release' then
  local wm = ARGV[4] .. h[6]
  redis.call('HSET', k, 'own', '', 'until', '', 'nb', ARGV[3], 'wm', wm)
  if ARGV[5] ~= '' then redis.call('HSET', k, 'err', ARGV[5]) end
  if ARGV[6] == '1' then redis.call('HINCRBY', k, 'att', 1) end
  redis.call('ZADD', KEYS[1], 0, wm)
else
  to = 'failed'
  redis.call('HSET', k, 'st', to, 'err', ARGV[3], 'until', '')
  redis.call('HDEL', k, 'wm')
end
if to ~= 'pending' then
  redis.call('HINCRBY', KEYS[3], 'pending*', -1)
  redis.call('HINCRBY', KEYS[3], to .. '*', 1)
  local b = h[5] or ''
  if b ~= '' then
    redis.call('HINCRBY', KEYS[3], 'pending|' .. b, -1)
    redis.call('HINCRBY', KEYS[3], to .. '|' .. b, 1)
  end
end
return {1}
`)

// takeLimits is a GCRA rate limiter over several buckets at once: a token is taken from
// every bucket or from none. A bucket of burst B refilling one token every T is one number,
// its theoretical arrival time (TAT); taking is allowed when now ≥ max(TAT, now) + T − B·T,
// the same decisions as a token bucket (bot.LocalLimiter), in integer µs.
//
//	KEYS     {P:rl}:<limit key>, one per limit
//	ARGV[1]  now, µs since the epoch
//	ARGV[2..] per limit: T in µs, B
//
// Result: 0 if taken, else the µs to wait until every bucket has a token.
var takeLimits = redis.NewScript(`
local now = tonumber(ARGV[1])
local wait, tats = 0, {}
for i, key in ipairs(KEYS) do
  local every, burst = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  local tat = tonumber(redis.call('GET', key) or '0')
  if tat < now then tat = now end
  local nt = tat + every
  local w = nt - burst * every - now
  if w > wait then wait = w end
  tats[i] = nt
end
if wait > 0 then return wait end
for i, key in ipairs(KEYS) do
  local ttl = math.floor((tats[i] - now) / 1000) + 60000
  redis.call('SET', key, string.format('%.0f', tats[i]), 'PX', ttl)
end
return 0
`)
