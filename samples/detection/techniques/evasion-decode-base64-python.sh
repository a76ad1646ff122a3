#!/bin/sh
# SANDTRAP-TEST-MALICIOUS: hands python a base64- and zlib-packed stage to run (T1140, T1059.006).
# Inert: the stage prints a line.
python3 -c "import base64;exec(base64.b64decode('aW1wb3J0IG9zOyBwcmludCgiU0FORFRSQVAtVEVTVC1NQUxJQ0lPVVMgcHl0aG9uIHN0YWdlIiwgb3MuZ2V0dWlkKCkpCg=='))"
python3 -c "import zlib,base64;exec(zlib.decompress(base64.b64decode('eJwrKMrMK9FQCnb0cwkJcgzQDXENDtH1dfTxdPb0Dw1WKEhMzk5NUSguSUxPVdIEAET2Dhw=')))"
exit 0
