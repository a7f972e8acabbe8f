#!/usr/bin/env python3
# Writes testdata/heat-mime.golden: what OS::Heat::MultipartMime (Python's
# email.mime, as in heat/engine/resources/openstack/heat/multi_part.py)
# makes of testdata/part-*.txt with a fixed boundary. mime_test.go checks
# the Go renderer against it byte for byte. Regenerate: python3 testdata/heat_mime.py
import glob, os
from email.mime import multipart, text
here = os.path.dirname(os.path.abspath(__file__))
parts = []
for p in sorted(glob.glob(os.path.join(here, "part-*.txt"))):
    with open(p, encoding="utf-8", newline="") as f:
        parts.append(text.MIMEText(f.read()))
msg = multipart.MIMEMultipart(_subparts=parts, boundary="===============0123456789012345678==")
with open(os.path.join(here, "heat-mime.golden"), "w", encoding="utf-8", newline="") as f:
    f.write(msg.as_string())
