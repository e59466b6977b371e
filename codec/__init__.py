"""nvc.codec"""
