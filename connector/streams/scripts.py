"""The Lua scripts that make each batch of Redis work one atomic round trip.

Three scripts, each taking a JSON batch in ARGV[5]:

- INTAKE: for each outbound entry not yet taken in, write its dead letter, its status events
  and its per-carrier work items, and either remember how many recipients are left or
  acknowledge it at once. An entry already taken in (a replay after a crash) is skipped.
  Its batch is positional (id, recipients left, event count, work streams, dead letter 1/0,
  scheduled work); the JSON texts themselves (dead letter, events, work items, entry by entry)
  come in ARGV[9] joined by \x1e, so Redis does not undo a second layer of escaping.
- OUTCOMES: per submitted part: accepted (record the carrier's id, its receipt keys, apply a
  receipt that came early, emit `sent` when every part is in), rejected or failed (final).
  A recipient reaching `sent` or a final status acknowledges its work item and counts down
  its entry, which is acknowledged when the count reaches zero (CONTRACT §4). The
  acknowledgements (one XACK per stream) and the deletion of finished entry keys (one DEL)
  are sent once, at the end of the batch.
- RECEIPTS: match final receipts to their part through the receipt keys, combine the parts
  into one final status, or hold a receipt whose part is not yet recorded. Returns, for each
  final status, the recipient's `sat` (the caller subtracts it from now: the latency).

Status events are assembled here as strings in the contract's key order; values go through
cjson.encode, `meta` is the entry's own validated JSON object, copied as it came.

Keys: KEYS = the outbound stream, then where status events, dead letters and MO messages go
(the contract's streams, or on a Redis Cluster their outboxes); every other key is built from
ARGV[1], the hash-tagged base `{<prefix>:outbound}`, so all of them share one slot.

Recipient hash `<base>:r:<entry>:<index>`: mid, to, car, meta, parts, ref, acc (parts accepted),
a<k> (carrier id of part k), fin (parts with a final receipt: each x<k> is set with it, in one
script), x<k> (that receipt; only its status when RECEIPTS' one-part path made the record
final, as nothing reads it back then and the hash stays a small listpack), st ('s' sent, 'f'
final), sat (epoch seconds `sent` went out).

Entry hash `<base>:entry:<id>`: n, the recipients still to finish (deleted at zero).

Held receipts `<base>:held:<car>:<key>` (SET NX, TTL held_ttl) and the carrier's flag
`<base>:heldflag:<car>`: RECEIPTS sets the flag with every receipt it holds, with the held TTL,
never shortening a longer TTL the flag has; so while any held key of the carrier exists, its
flag exists. OUTCOMES reads the flag once per carrier per call and, without it, skips looking
for held receipts (which are rare) key by key.

The flag's value says whether the held keys are counted. 'c': every receipt held since the
flag was set was counted in `<base>:heldn:<car>` (INCR when its SET NX took, DECR when OUTCOMES
takes it; the count's TTL, like the flag's, outlives each key it counts), so with a count of 0
OUTCOMES skips the lookups even while the flag lasts: one hold no longer costs every accept a
GET for the held TTL. Any other value ('1', set by versions before the count and by the first
start's migration in store.py) means uncounted holds may exist: look key by key. RECEIPTS turns
an absent flag into 'c' and keeps a '1'. It gives the flag and its held keys a TTL 1 ms short of
the held TTL, so an earlier version holding a receipt, which rewrites the flag as '1' whenever
its PTTL is below the full held TTL, always does: its uncounted hold is never hidden by a 'c'.
(That needs the same held TTL in both: Store's `held_ttl_s`, 3600 s, which no configuration
changes; a longer one here would leave an earlier version's PTTL check false.)
"""

from __future__ import annotations

from typing import Final

_COMMON: Final = r"""
local P = ARGV[1]  -- the base of the daemon's own keys: '{<prefix>:outbound}'
local G = ARGV[2]
local at = ARGV[3]
local smax = ARGV[4]
local batch = cjson.decode(ARGV[5])
local outbound_key = KEYS[1]
local status_key = KEYS[2]  -- the contract's streams, or their outboxes (Redis Cluster)
local dead_key = KEYS[3]
local mo_key = KEYS[4]

-- XADD with approximate trimming; a limit of 0 means never trim (CONFIG: "0 never trims").
local function xadd(key, limit, value)
  if tostring(limit) == '0' then
    redis.call('XADD', key, '*', 'data', value)
  else
    redis.call('XADD', key, 'MAXLEN', '~', limit, '*', 'data', value)
  end
end
local emitted = {}
local latencies = {}  -- the `sat` of each final status: the caller subtracts it from now
local now = tonumber(ARGV[7] or '0')
local now_text = ARGV[7]
local function emit(ev, status)
  xadd(status_key, smax, ev)
  if status then emitted[#emitted + 1] = status end
end

local function event(h, status, err, receipt, ids)
  return '{"message_id":' .. cjson.encode(h.mid) .. ',"to":' .. cjson.encode(h.to) ..
    ',"status":"' .. status .. '","carrier":' .. cjson.encode(h.car) ..
    ',"parts":' .. (h.pt or h.parts) .. ',"smsc_ids":[' .. ids .. '],"error":' .. (err or 'null') ..
    ',"receipt":' .. (receipt or 'null') .. ',"at":"' .. at .. '","meta":' .. h.meta .. '}'
end

local function state(r)
  local v = redis.call('HMGET', r, 'mid', 'to', 'car', 'meta', 'parts', 'st', 'acc', 'fin')
  if not v[1] then return nil end
  return {mid = v[1], to = v[2], car = v[3], meta = v[4], parts = tonumber(v[5]), pt = v[5],
          st = v[6], acc = tonumber(v[7] or '0'), fin = tonumber(v[8] or '0')}
end

local function ids(r, parts)
  local out = {}
  for k = 0, parts - 1 do
    local id = redis.call('HGET', r, 'a' .. k)
    if id then out[#out + 1] = cjson.encode(id) end
  end
  return table.concat(out, ',')
end

-- Acknowledgements and deletions gathered over the batch, sent at its end (`flush`): one
-- XACK per stream and one DEL instead of one command per op. No script reads them back, and a
-- script is atomic: what others see afterwards is the same.
local acks, ack_streams, dels = {}, {}, {}
local function ack(stream, id)
  local ids = acks[stream]
  if not ids then
    ids = {}
    acks[stream] = ids
    ack_streams[#ack_streams + 1] = stream
  end
  ids[#ids + 1] = id
end
local function flush()
  for _, stream in ipairs(ack_streams) do
    local ids = acks[stream]
    for j = 1, #ids, 500 do
      redis.call('XACK', stream, G, unpack(ids, j, math.min(j + 499, #ids)))
    end
  end
  for j = 1, #dels, 500 do redis.call('DEL', unpack(dels, j, math.min(j + 499, #dels))) end
end

local function finish(e, ws, w)
  -- A recipient reached `sent` or a final status: its work is done, its entry counts down.
  if ws and ws ~= '' then ack(ws, w) end
  -- One HINCRBY, no EXISTS: a count below zero means the key did not exist (the entry finished
  -- already): the DEL removes what HINCRBY created and nothing is acknowledged. (A later
  -- finish of the same entry in this batch meets the count left at 0 or below: the same.)
  local ekey = P .. ':entry:' .. e
  local left = redis.call('HINCRBY', ekey, 'n', '-1')
  if left <= 0 then
    dels[#dels + 1] = ekey
    if left == 0 then ack(outbound_key, e) end
  end
end

local function error_json(code, smpp_status, description)
  return '{"code":' .. cjson.encode(code) .. ',"smpp_status":' ..
    (smpp_status and tostring(smpp_status) or 'null') .. ',"description":' ..
    cjson.encode(description or '') .. '}'
end

local function check_final(r, h)
  -- Every part has its final receipt and `sent` went out: one combined final status.
  if h.st ~= 's' or h.fin < h.parts then return end
  local chosen = nil
  local last = nil
  for k = 0, h.parts - 1 do
    local rec = cjson.decode(redis.call('HGET', r, 'x' .. k))
    last = rec
    if rec.s ~= 'delivered' and not chosen then chosen = rec end
  end
  local ev
  if chosen then
    local rj = cjson.encode(chosen.r)
    ev = event(h, chosen.s, error_json('receipt', nil, 'receipt ' .. (chosen.r.stat or '')),
               rj, ids(r, h.parts))
  else
    ev = event(h, 'delivered', nil, cjson.encode(last.r), ids(r, h.parts))
  end
  redis.call('HSET', r, 'st', 'f')
  emit(ev, chosen and chosen.s or 'delivered')
  local sat = redis.call('HGET', r, 'sat')
  if sat and now > 0 then latencies[#latencies + 1] = sat end
end

local function apply_receipt(r, k, rec)
  if redis.call('HSETNX', r, 'x' .. k, rec) == 1 then
    redis.call('HINCRBY', r, 'fin', 1)
    return true
  end
  return false
end

-- `<base>:heldflag:<car>` exists while a receipt of that carrier may be held: RECEIPTS sets it
-- with each held receipt and never shortens its TTL, so it outlives every held key.
local function held_flag(car)
  return P .. ':heldflag:' .. car
end
local function held_count(car)
  return P .. ':heldn:' .. car
end
"""

INTAKE: Final = (
    _COMMON
    + r"""
local dmax = ARGV[6]
local fresh = ARGV[8] == '1'  -- read as new entries: never taken in nor acknowledged before
-- The entries' JSON texts (dead letter, events, work items, in that order) come joined by
-- \30 in ARGV[9], outside the JSON batch: no escaping to undo. JSON text never holds a raw
-- control character (RFC 8259 §7), so \30 cannot occur inside one.
local texts = ARGV[9] or ''
local pos = 1
local function text()
  local stop = string.find(texts, '\30', pos, true)
  local s
  if stop then
    s = string.sub(texts, pos, stop - 1)
    pos = stop + 1
  else
    s = string.sub(texts, pos)
    pos = #texts + 2
  end
  return s
end
local function skip(count)
  for _ = 1, count do pos = (string.find(texts, '\30', pos, true) or #texts + 1) + 1 end
end
local out = {}
-- Each entry: [id, recipients left, number of events, work streams, dead letter (1/0), sched].
for n, e in ipairs(batch) do
  local id, left, events, streams, dead = e[1], e[2], e[3], e[4], e[5] == 1
  local ekey = P .. ':entry:' .. id
  if not fresh and redis.call('EXISTS', ekey) == 1 then
    out[n] = 0
    skip(events + #streams + (dead and 1 or 0))
  elseif not fresh and #redis.call('XPENDING', outbound_key, G, id, id, 1) == 0 then
    out[n] = 0  -- acknowledged already: every recipient finished (a late replay or claim)
    skip(events + #streams + (dead and 1 or 0))
  else
    if dead then xadd(dead_key, dmax, text()) end
    for _ = 1, events do emit(text()) end
    for _, ws in ipairs(streams) do redis.call('XADD', ws, '*', 'w', text()) end
    for _, s in ipairs(e[6]) do
      redis.call('ZADD', P .. ':sched', s[1], s[2] .. '\n' .. s[3])
    end
    if left > 0 then
      redis.call('HSET', ekey, 'n', left == 1 and '1' or left)
    else
      redis.call('XACK', outbound_key, G, id)
    end
    out[n] = 1
  end
end
return out
"""
)

OUTCOMES: Final = (
    _COMMON
    + r"""
local ttl = ARGV[6]
local out = {}
-- Whether a receipt of the carrier may be held (its flag exists): read once per carrier per
-- call. Without the flag no held key exists, and the per-key GETs are skipped.
-- A flag 'c' (the holds are counted) with a count of 0: none is held either.
local may_hold = {}
local function held_receipt(car, key)
  local flag = may_hold[car]
  if flag == nil then
    local v = redis.call('GET', held_flag(car))
    flag = v ~= false and (v ~= 'c' or tonumber(redis.call('GET', held_count(car)) or '0') > 0)
    may_hold[car] = flag
  end
  if not flag then return nil end
  local hk = P .. ':held:' .. car .. ':' .. key
  local held = redis.call('GET', hk)
  if held then
    redis.call('DEL', hk)
    -- Taken: one fewer counted (a key an earlier version held was not counted, and while it
    -- may exist the flag is not 'c': the count then matters only once it is exact again).
    if redis.call('DECR', held_count(car)) <= 0 then redis.call('DEL', held_count(car)) end
  end
  return held
end
for n, op in ipairs(batch) do
  local i = op.i
  if i == 0 then i = '0' end  -- the common index, not formatted as a number twice
  local r = P .. ':r:' .. op.e .. ':' .. i
  if op.t == 'a' and op.n == 1 and redis.call('EXISTS', r) == 0 then
    -- The common case, a one-part message accepted for the first time: its whole record in
    -- one HSET, its `sent` event from the op itself; the same effects as the general path.
    -- (Strings, not numbers, where that is free: Redis formats each number it is passed.)
    out[n] = 1
    local ref = op.ref
    if ref == nil or ref == 0 then ref = '0' end
    redis.call('HSET', r, 'mid', op.mid, 'to', op.to, 'car', op.car, 'meta', op.meta,
               'parts', '1', 'ref', ref, 'a0', op.id, 'acc', '1', 'st', 's', 'sat', now_text)
    local h = {mid = op.mid, to = op.to, car = op.car, meta = op.meta, parts = 1, pt = '1',
               st = 's', fin = 0}
    local target = op.e .. '|' .. i .. '|0'
    for _, key in ipairs(op.keys) do
      redis.call('SET', P .. ':rk:' .. op.car .. ':' .. key, target, 'EX', ttl)
      local held = held_receipt(op.car, key)
      if held and apply_receipt(r, 0, held) then h.fin = h.fin + 1 end
    end
    emit(event(h, 'sent', nil, nil, cjson.encode(op.id)), 'sent')
    finish(op.e, op.ws, op.w)
    check_final(r, h)
    redis.call('EXPIRE', r, ttl)
  else
  if redis.call('HSETNX', r, 'mid', op.mid) == 1 then
    redis.call('HSET', r, 'to', op.to, 'car', op.car, 'meta', op.meta, 'parts', op.n,
               'ref', op.ref or 0)
  end
  local h = state(r)
  if op.t == 'a' then
    out[n] = 0
    if h.st ~= 'f' and redis.call('HSETNX', r, 'a' .. op.k, op.id) == 1 then
      out[n] = 1
      h.acc = redis.call('HINCRBY', r, 'acc', 1)
      local target = op.e .. '|' .. i .. '|' .. op.k
      for _, key in ipairs(op.keys) do
        redis.call('SET', P .. ':rk:' .. op.car .. ':' .. key, target, 'EX', ttl)
        local held = held_receipt(op.car, key)
        if held and apply_receipt(r, op.k, held) then h.fin = h.fin + 1 end
      end
      if h.acc >= h.parts and not h.st then
        redis.call('HSET', r, 'st', 's', 'sat', now_text)
        h.st = 's'
        emit(event(h, 'sent', nil, nil, ids(r, h.parts)), 'sent')
        finish(op.e, op.ws, op.w)
        check_final(r, h)
      end
    end
  else
    -- 'r' rejected by the carrier, 'f' failed (or expired): final unless already final.
    out[n] = 0
    if not h.st then
      redis.call('HSET', r, 'st', 'f')
      local status = op.status or (op.t == 'r' and 'rejected' or 'failed')
      emit(event(h, status, error_json(op.code, op.smpp, op.desc), nil, ids(r, h.parts)), status)
      finish(op.e, op.ws, op.w)
      out[n] = 1
    elseif h.st == 's' and op.ws and op.ws ~= '' then
      ack(op.ws, op.w)
    end
  end
  redis.call('EXPIRE', r, ttl)
  end
end
flush()
return {out, emitted, latencies}
"""
)

RECEIPTS: Final = (
    _COMMON
    + r"""
-- 1 ms short of the held TTL: see the module's docstring (an earlier version's flag).
local held_ms = tonumber(ARGV[6]) * 1000 - 1
local out = {}
for n, op in ipairs(batch) do
  -- `rec` as check_final decodes it: given, or built from the one-part fields st and rj.
  local rec = op.rec or ('{"s":"' .. op.st .. '","r":' .. op.rj .. '}')
  local target = nil
  for _, key in ipairs(op.keys) do
    target = redis.call('GET', P .. ':rk:' .. op.car .. ':' .. key)
    if target then break end
  end
  if target then
    local e, i, k = string.match(target, '^(.*)|(%d+)|(%d+)$')
    local r = P .. ':r:' .. e .. ':' .. i
    local v = redis.call('HMGET', r, 'mid', 'to', 'car', 'meta', 'parts', 'st', 'fin', 'a0',
                         'sat')
    local h = nil
    if v[1] then
      h = {mid = v[1], to = v[2], car = v[3], meta = v[4], parts = tonumber(v[5]), pt = v[5],
           st = v[6], fin = tonumber(v[7] or '0')}
    end
    if not h then
      out[n] = 'unmatched'
    elseif h.parts == 1 and op.st and h.st == 's' then
      -- One part, `sent` already out: its final status straight from this read and the op
      -- (status, receipt JSON, stat), as check_final would build it, without re-reading.
      -- fin counts the x<k> set (each with it, in one script), so fin = 0 means x0 is free:
      -- one HSET instead of HSETNX + HSET.
      local fresh = h.fin == 0 or redis.call('HSETNX', r, 'x0', rec) == 1
      if fresh then
        -- x0 marks the part's receipt as in: the status alone (no reader decodes x0 once the
        -- record is final), so the record stays a small listpack hash.
        redis.call('HSET', r, 'x0', op.st, 'fin', '1', 'st', 'f')
        local err = nil
        if op.st ~= 'delivered' then err = error_json('receipt', nil, 'receipt ' .. op.stat) end
        local sent_ids = v[8] and cjson.encode(v[8]) or ''
        emit(event(h, op.st, err, op.rj, sent_ids), op.st)
        if v[9] and now > 0 then latencies[#latencies + 1] = v[9] end
        out[n] = 'matched'
      else
        out[n] = 'duplicate'
      end
    elseif apply_receipt(r, k, rec) then
      h.fin = h.fin + 1
      check_final(r, h)
      out[n] = 'matched'
    else
      out[n] = 'duplicate'
    end
  else
    local counted = 0
    for _, key in ipairs(op.keys) do
      if redis.call('SET', P .. ':held:' .. op.car .. ':' .. key, rec, 'PX', held_ms, 'NX') then
        counted = counted + 1
      end
    end
    if #op.keys > 0 then
      -- The carrier's flag and count, set or refreshed, never shortened: they outlive this
      -- held key. An absent flag becomes 'c'; a '1' (uncounted holds) stays.
      local flag, count = held_flag(op.car), held_count(op.car)
      if counted > 0 then redis.call('INCRBY', count, counted) end
      if redis.call('PTTL', count) < held_ms then redis.call('PEXPIRE', count, held_ms) end
      if redis.call('PTTL', flag) < held_ms then
        redis.call('SET', flag, redis.call('GET', flag) or 'c', 'PX', held_ms)
      end
    end
    out[n] = 'held'
  end
end
return {out, emitted, latencies}
"""
)

# Mobile-originated messages (CONTRACT §3). ARGV[6]: mo maxlen, ARGV[7]: reassembly timeout (s),
# ARGV[8]: now (epoch seconds). Ops: {t='s', ev} a single message, written as is; or
# {t='p', g (group key), seq, total, text, from, to, car} one part of a concatenated message,
# kept in the hash <p>:mop:<g> until every part is in (then one entry, complete=true) or the
# timeout passes (the sweeper writes what arrived, complete=false).
_MO_COMMON: Final = r"""
local mmax = ARGV[6]
local function mo_json(from, to, message, car, parts, complete)
  return '{"from":' .. cjson.encode(from) .. ',"to":' .. cjson.encode(to) ..
    ',"message":' .. cjson.encode(message) .. ',"carrier":' .. cjson.encode(car) ..
    ',"parts":' .. parts .. ',"complete":' .. (complete and 'true' or 'false') ..
    ',"received_at":"' .. at .. '"}'
end
local function assemble(hkey, complete)
  local h = redis.call('HGETALL', hkey)
  local meta, texts, n = {}, {}, 0
  for j = 1, #h, 2 do
    local f = h[j]
    if string.sub(f, 1, 1) == '_' then meta[f] = h[j + 1]
    else texts[tonumber(f)] = h[j + 1]; n = n + 1 end
  end
  local ordered = {}
  for seq = 1, tonumber(meta._total) do
    if texts[seq] then ordered[#ordered + 1] = texts[seq] end
  end
  xadd(mo_key, mmax, mo_json(meta._from, meta._to, table.concat(ordered), meta._car, n, complete))
  redis.call('DEL', hkey)
  redis.call('ZREM', P .. ':mop', hkey)
end
"""

MO: Final = (
    _COMMON
    + _MO_COMMON
    + r"""
local timeout = tonumber(ARGV[7])
local now = tonumber(ARGV[8])
local out = {}
for n, op in ipairs(batch) do
  if op.t == 's' then
    xadd(mo_key, mmax, op.ev)
    out[n] = 1
  else
    local hkey = P .. ':mop:' .. op.g
    if redis.call('HSETNX', hkey, tostring(op.seq), op.text) == 1 then
      redis.call('HSET', hkey, '_from', op.from, '_to', op.to, '_car', op.car,
                 '_total', op.total)
      redis.call('ZADD', P .. ':mop', 'NX', now + timeout, hkey)
    end
    if redis.call('HLEN', hkey) - 4 >= op.total then
      assemble(hkey, true)
      out[n] = 2
    else
      out[n] = 1
    end
  end
end
return out
"""
)

MO_SWEEP: Final = (
    _COMMON
    + _MO_COMMON
    + r"""
local now = tonumber(ARGV[8])
local due = redis.call('ZRANGEBYSCORE', P .. ':mop', '-inf', now, 'LIMIT', 0, 100)
for _, hkey in ipairs(due) do
  if redis.call('EXISTS', hkey) == 1 then assemble(hkey, false)
  else redis.call('ZREM', P .. ':mop', hkey) end
end
return #due
"""
)

# Scheduled messages (`send_at`): held in the sorted set <p>:sched (score = send_at, member =
# "<work stream>\n<work item JSON>") and moved to their work stream when due, by whichever
# daemon runs first. ARGV[6]: now (epoch seconds), ARGV[7]: how many at most.
RELEASE: Final = (
    _COMMON
    + r"""
local now = ARGV[6]
local due = redis.call('ZRANGEBYSCORE', P .. ':sched', '-inf', now, 'LIMIT', 0, ARGV[7])
for _, member in ipairs(due) do
  local cut = string.find(member, '\n', 1, true)
  redis.call('XADD', string.sub(member, 1, cut - 1), '*', 'w', string.sub(member, cut + 1))
  redis.call('ZREM', P .. ':sched', member)
end
return #due
"""
)
