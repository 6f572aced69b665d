#!/usr/bin/env bash
# curl for the Crusoe API: signs the request as Crusoe's clients do (HMAC-SHA256 of
# "<path>\n<sorted query>\n<METHOD>\n<timestamp>\n" with the base64url-decoded secret) using
# only openssl and coreutils.
#   eval "$(npx hangar demo --env)"
#   scripts/crusoe-curl.sh GET /locations
#   scripts/crusoe-curl.sh POST "/projects/$CRUSOE_DEFAULT_PROJECT/storage/disks" -d '{"name":"d1","size":"10GiB","location":"us-east1-a"}'
# Reads CRUSOE_API_ENDPOINT, CRUSOE_ACCESS_KEY_ID and CRUSOE_SECRET_KEY. Query values must
# already be URL-escaped.
set -euo pipefail
method=${1:?usage: crusoe-curl.sh METHOD PATH[?QUERY] [curl options]}
target=${2:?usage: crusoe-curl.sh METHOD PATH[?QUERY] [curl options]}
shift 2
endpoint=${CRUSOE_API_ENDPOINT:?set CRUSOE_API_ENDPOINT (eval "$(npx hangar demo --env)")}
url="${endpoint%/}${target}"
rest=${url#*://*/}
path="/${rest%%\?*}"
query=""
if [[ "$url" == *\?* ]]; then query=$(printf '%s' "${url#*\?}" | tr '&' '\n' | LC_ALL=C sort | paste -sd '&' -); fi
timestamp=$(date -u +%Y-%m-%dT%H:%M:%SZ)
secret=${CRUSOE_SECRET_KEY:?set CRUSOE_SECRET_KEY}
padding=$(( (4 - ${#secret} % 4) % 4 ))
key=$(printf '%s%.*s' "$secret" "$padding" '===' | basenc --base64url -d | od -An -vtx1 | tr -d ' \n')
signature=$(printf '%s\n%s\n%s\n%s\n' "$path" "$query" "$method" "$timestamp" |
  openssl dgst -sha256 -mac HMAC -macopt "hexkey:$key" -binary | basenc --base64url -w0 | tr -d '=')
exec curl -sS -X "$method" -H "X-Crusoe-Timestamp: $timestamp" \
  -H "Authorization: Bearer 1.0:${CRUSOE_ACCESS_KEY_ID:?set CRUSOE_ACCESS_KEY_ID}:$signature" \
  -H 'Content-Type: application/json' "$@" "$url"
