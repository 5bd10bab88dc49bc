"""What the channel layer, presence beside it, and Django's cache in Redis (django-redis
raises redis's own errors) raise while Redis cannot be reached.

Empty where the redis package is not installed: the in-memory layer has nothing that
can go away.
"""

try:
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError
except ImportError:
    LAYER_OUTAGES = ()
else:
    LAYER_OUTAGES = (RedisConnectionError, RedisTimeoutError, OSError)
