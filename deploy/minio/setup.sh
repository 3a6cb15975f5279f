#!/bin/sh
# Run once by docker-compose.yml's minio-setup service before the app starts, and harmless to run again:
# the documents bucket, kept private, and the app's own user, allowed only that bucket's objects (app-policy.json).
# The app never holds MinIO's root credentials and never creates or opens up buckets.
set -eu

mc alias set local "$MINIO_URL" "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD"
mc mb --ignore-existing "local/$S3_BUCKET"
# No anonymous access, whatever was set on the bucket before: every download goes through the app's access check.
mc anonymous set none "local/$S3_BUCKET"

mc admin policy create local mediation-app /setup/app-policy.json
mc admin user add local "$S3_APP_ACCESS_KEY" "$S3_APP_SECRET_KEY"
# Attaching a policy the user already has is refused; that is the state wanted, so check it instead of failing.
mc admin policy attach local mediation-app --user "$S3_APP_ACCESS_KEY" \
  || mc admin user info local "$S3_APP_ACCESS_KEY" | grep -q "mediation-app"
