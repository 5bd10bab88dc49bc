"""Flood control buckets in Redis, shared by every server process, for projects on
channels-redis.

Each sender's bucket is one key on the Redis the channel layer uses, under the layer's
key prefix, updated by one script so that processes racing for the same sender's tokens
count each one once. The bucket is kept as the time it will be full again (the generic
cell rate algorithm), by Redis's clock, which every process shares; the key expires
then, as a full bucket is no different from none.
"""

from chat import redis_calls

# Tokens arrive every ARGV[1] seconds, up to ARGV[2]; returns 0, or the seconds until a
# token is available, as a string (Redis would truncate a number to an integer).
GCRA_SCRIPT = """
local time = redis.call('TIME')
local now = tonumber(time[1]) + tonumber(time[2]) / 1000000
local interval = tonumber(ARGV[1])
local tolerance = interval * tonumber(ARGV[2])
local full_at = math.max(tonumber(redis.call('GET', KEYS[1]) or now), now) + interval
if full_at - now > tolerance then
    return tostring(full_at - now - tolerance)
end
redis.call('SET', KEYS[1], string.format('%.6f', full_at), 'PX', math.ceil((full_at - now) * 1000))
return '0'
"""


class RedisFloodLimit:
    def __init__(self, layer):
        self.layer = layer
        self.redis = redis_calls.shared(layer)
        self.prefix = layer.prefix

    async def take(self, sender, *, rate, burst):
        """Spend one of ``sender``'s tokens and return 0, or return the seconds until one
        is available."""
        key = f"{self.prefix}:flood:{sender}"
        take_token = self.redis.script(key, GCRA_SCRIPT)
        async with self.redis.slot(key):
            return float(await take_token(keys=[key], args=[1 / rate, burst]))
