"""Import of lists (capture lists, exchange lists, the ICRC's lists) with a dry run.

``parsing`` reads a CSV or XLSX file into rows under a column mapping; ``planning`` decides
what each row would do (create, match, conflict, error) without writing; ``services`` stores
uploads and mappings and commits a run through the person and identity services, in one
transaction.
"""
