"""The suggestion engine of the operator's seat, free of Qt.

``pinyin`` matches what an operator types into a picker (codes, names, pinyin initials);
``categories`` proposes categories for a report's text from the catalogue and from what operators
filed before, and the unit a category means at the case's place; ``duplicates`` lists the cases a
report may duplicate.
"""
