#!/bin/sh
# SANDTRAP-TEST-MALICIOUS: drops a script named "invoice.txt " (a trailing space): a listing shows
# a text file, the system runs it as a program (T1036.006).
# Inert: the script prints a line and stays in the working directory.
printf '#!/bin/sh\necho SANDTRAP-TEST-MALICIOUS trailing space\n' >"./invoice.txt "
chmod +x "./invoice.txt "
"./invoice.txt "
exit 0
