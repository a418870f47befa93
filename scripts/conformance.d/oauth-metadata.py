"""Validate Steward's OAuth 2.0 authorization server metadata (RFC 8414)
with authlib's own validator (Debian python3-authlib), plus the RFC 8414
section 3.3 rule that the issuer matches the URL it was fetched from.

Usage: python3 oauth-metadata.py BASE_URL
"""
import json
import sys
import urllib.request

from authlib.oauth2.rfc8414 import AuthorizationServerMetadata, get_well_known_url

base = sys.argv[1].rstrip("/")
url = get_well_known_url(base, external=True)
with urllib.request.urlopen(url, timeout=10) as res:
    doc = json.load(res)
try:
    AuthorizationServerMetadata(doc).validate()
except ValueError as e:
    print(f"{url}: {e}")
    sys.exit(1)
if doc["issuer"] != base:
    print(f"{url}: issuer {doc['issuer']!r} is not {base!r}")
    sys.exit(1)
print(f"{len(doc)} members valid ({url})")
