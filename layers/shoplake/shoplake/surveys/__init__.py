"""Survey ingestion: staff drop a spreadsheet, the lake gets typed Parquet.

`forms` declares what a survey looks like, `workbook` reads files safely and lazily,
`rows` turns cells into typed values, and `ingest` moves a file from the inbox to the lake.
"""
