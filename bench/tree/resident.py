# A resident Python program: imports a working set, then waits.
import json, re, logging, argparse, subprocess, socket, email.parser, http.client, time
print("ready", flush=True)
time.sleep(1e6)
