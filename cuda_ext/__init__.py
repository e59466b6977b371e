"""nvc.cuda_ext"""
