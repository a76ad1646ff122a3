#!/bin/sh
# SANDTRAP-TEST-MALICIOUS: removes its tool kit and itself once done (T1070.004).
# Inert: every file removed is one it wrote, or its own copy in the working directory.
mkdir -p ./.kit
printf '#!/bin/sh\necho SANDTRAP-TEST-MALICIOUS scanner\n' > ./.kit/scan
printf '#!/bin/sh\necho SANDTRAP-TEST-MALICIOUS loader\n' > ./.kit/loader
chmod +x ./.kit/scan ./.kit/loader
./.kit/scan
shred -fuz ./.kit/scan ./.kit/loader 2>/dev/null || rm -f ./.kit/scan ./.kit/loader
rm -rf ./.kit
rm -f -- "$0"
echo "cleaned up"
exit 0
