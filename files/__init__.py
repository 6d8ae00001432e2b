"""CAD files: immutable STEP and PDF revisions in object storage, uploads, downloads, STEP to GLB."""
