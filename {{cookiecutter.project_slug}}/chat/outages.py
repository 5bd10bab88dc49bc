"""What the channel layer, and presence beside it, raise while Redis cannot be reached.

Empty where the redis package is not installed: the in-memory layer has nothing that
can go away.
"""

try:
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError
except ImportError:
    LAYER_UNAVAILABLE = ()
else:
    LAYER_UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, OSError)
