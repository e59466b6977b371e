"""nvc.models"""
