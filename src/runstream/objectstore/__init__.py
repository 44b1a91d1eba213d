"""S3 adapter: the only package that imports the minio client."""

from runstream.objectstore.client import PART_SIZE, ObjectInfo, ObjectStore

__all__ = ["PART_SIZE", "ObjectInfo", "ObjectStore"]
