python3 -c 'import sys; sys.exit(undefined_name)'
undefined_helper_cmd
exit 2
