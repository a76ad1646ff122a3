#!/bin/sh
# SANDTRAP-TEST-MALICIOUS: drops a script named "statement.pdf.sh", which a file manager set to
# hide known extensions shows as a PDF, and runs it (T1036.007).
# Inert: the script prints a line and stays in the working directory.
printf '#!/bin/sh\necho SANDTRAP-TEST-MALICIOUS double extension\n' >./statement.pdf.sh
chmod +x ./statement.pdf.sh
./statement.pdf.sh
exit 0
