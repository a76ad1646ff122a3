#!/bin/sh
# SANDTRAP-TEST-MALICIOUS: dropper-like sample. Inert: the "payloads" only print a line.
echo "SANDTRAP-TEST-MALICIOUS execution sample"
printf '#!/bin/sh\necho SANDTRAP-TEST-MALICIOUS dropped stage\n' > ./stage2.sh
chmod +x ./stage2.sh
./stage2.sh
echo ZWNobyBTQU5EVFJBUC1URVNULU1BTElDSU9VUyBkZWNvZGVk | base64 -d | sh
python3 -c "import base64; exec(base64.b64decode('cHJpbnQoIlNBTkRUUkFQLVRFU1QtTUFMSUNJT1VTIGV4ZWMiKQ=='))"
setsid sh -c 'echo SANDTRAP-TEST-MALICIOUS detached'
exit 0
