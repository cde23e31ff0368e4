# Import a good part of the standard library, as a large Python
# program does at start-up, and use a little of it.
import importlib
MODULES = """
abc argparse ast asyncio base64 bisect bz2 calendar cmd codecs collections
colorsys compileall concurrent.futures configparser contextlib copy csv
ctypes dataclasses datetime decimal difflib dis email email.mime.text
email.parser enum filecmp fileinput fnmatch fractions ftplib functools
getopt gettext glob gzip hashlib heapq hmac html html.parser http.client
http.server imaplib inspect io ipaddress itertools json logging
logging.handlers lzma mailbox mimetypes multiprocessing netrc numbers
operator optparse pathlib pdb pickle pkgutil platform plistlib poplib
pprint profile pstats queue quopri random re reprlib sched secrets
selectors shelve shlex shutil signal smtplib socket socketserver sqlite3
ssl statistics string stringprep struct subprocess sysconfig tarfile
tempfile textwrap threading timeit tokenize trace traceback types typing
unittest unittest.mock urllib.parse urllib.request uuid warnings wave
weakref xml.dom.minidom xml.etree.ElementTree xml.sax zipfile zipimport
zoneinfo
""".split()
mods = [importlib.import_module(m) for m in MODULES]
import json, re, hashlib, decimal
s = json.dumps({"n": [decimal.Decimal(i) / 7 for i in range(50)]}, default=str)
assert re.search(r"\d", s) and hashlib.sha256(s.encode()).hexdigest()
print(len(mods))
