"""The nightly ETL's transforms: pure `DataFrame -> DataFrame` functions, shipped to Glue as extra Python files.

The Glue job scripts in `glue/` are thin entries over these; the tests run them on a local SparkSession.
"""
