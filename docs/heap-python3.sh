#!/bin/sh
# Makes docs/heap-python3.svg (the README's picture) and the RSS account
# shown under it: python3 builds 20,000 dicts, drops a third, serialises the
# rest and sends itself SIGUSR2, on which umalloc draws its heap.
cd "$(dirname "$0")/.." || exit 1
tools/umrun --stats --svg docs/heap-python3.svg --at USR2 -- python3 -c '
import os, signal, time, json
data = [{"id": i, "name": "item%d" % i, "tags": list(range(i % 7))} for i in range(20000)]
del data[::3]
text = json.dumps(data)
os.kill(os.getpid(), signal.SIGUSR2)
time.sleep(0.5)
'
